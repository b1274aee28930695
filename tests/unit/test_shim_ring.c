/*
 * tests/unit/test_shim_ring.c - the shim's event sink (injector/shim_ring.c)
 * and the ring of injector/shm.h, driven directly: a control block in an
 * anonymous shared mapping stands in for the one `torn record` makes, and
 * the test plays the consumer, decoding what the sink put in the ring.
 *
 * Covered: seq/pid/tid filling, blobs before their first use and only once
 * (dedup, and its 75% cap), splitting of large writes (TORN_F_SPLIT, offsets,
 * lengths), iovecs cut across chunk boundaries, short and failed writes,
 * marks drained from the $TORN_MARK_FD file before an event (partial lines kept), ring
 * wrap-around with pads, the lock (signals blocked only while a handler is
 * installed, an installer waiting for unblocked locks, re-entry, fork, a
 * dead owner),
 * a closed recording, shim_exec_env.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/wait.h>

/* The unit under test, with its statics (and the hash the recorder names
 * the content with). */
#include "injector/shim_ring.c"
#include "injector/record_hash.c"

/* ---- a control block and a consumer */

static struct shm_ctl *ctl_new(uint64_t ring_size, uint32_t dedup_slots)
{
	size_t size = SHM_CTL_SIZE + 16ull * dedup_slots + ring_size;
	struct shm_ctl *c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t ma;

	assert_true(c != MAP_FAILED);
	c->magic = SHM_MAGIC;
	c->version = SHM_VERSION;
	c->ctl_size = SHM_CTL_SIZE;
	c->map_size = size;
	c->dedup_off = SHM_CTL_SIZE;
	c->dedup_slots = dedup_slots;
	c->ring_off = SHM_CTL_SIZE + 16ull * dedup_slots;
	c->ring_size = ring_size;
	c->recorder_pid = getpid();
	c->mark_rd = c->stdout_rd = c->stdout_orig = -1;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	assert_int_equal(pthread_mutex_init(&c->lock, &ma), 0);
	pthread_mutexattr_destroy(&ma);
	g_ctl = c;
	g_dead = 0;
	g_mark_rd = g_stdout_rd = g_stdout_orig = -1;
	return c;
}

static void ctl_free(struct shm_ctl *c)
{
	if (g_mark_rd >= 0)
		close(g_mark_rd);
	g_mark_rd = -1;
	if (g_mark_win.base)
		munmap((void *)g_mark_win.base, (size_t)SHM_MARK_WIN);
	g_mark_win.base = NULL;
	munmap(c, c->map_size);
	g_ctl = NULL;
}

/* What the consumer took out of the ring: records named (shm_name, as the
 * recorder does), copied, decoded. */
struct got {
	uint8_t *buf;
	size_t used, cap;
	size_t off[8192];
	int n;
	struct shm_namer namer;
};

static void consume(struct shm_ctl *c, struct got *g)
{
	uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE), tail = c->tail;

	while (tail != head) {
		uint64_t pos = tail % c->ring_size;
		uint32_t len;

		memcpy(&len, shm_ring(c) + pos, 4);
		if (len == 0) {                 /* pad */
			tail += c->ring_size - pos;
			continue;
		}
		assert_true(len >= TORN_REC_FIXED_LEN && pos + len <= c->ring_size);
		tail += shm_align8(len);
		if (shm_unhashed(shm_ring(c) + pos)) {
			int keep = shm_name(c, &g->namer, shm_ring(c) + pos, len, record_hash);

			assert_true(keep >= 0);
			if (!keep)
				continue;
		}
		if (g->used + len > g->cap) {
			g->cap = (g->used + len) * 2;
			g->buf = realloc(g->buf, g->cap);
			assert_non_null(g->buf);
		}
		memcpy(g->buf + g->used, shm_ring(c) + pos, len);
		assert_true(g->n < 8192);
		g->off[g->n++] = g->used;
		g->used += len;
	}
	__atomic_store_n(&c->tail, tail, __ATOMIC_RELEASE);
}

static struct torn_event rec(struct got *g, int i)
{
	struct torn_event ev;

	assert_true(i < g->n);
	assert_true(trace_decode(g->buf + g->off[i], g->used - g->off[i], &ev) > 0);
	return ev;
}

static void got_free(struct got *g)
{
	free(g->buf);
	free(g);
}

static struct got *got_new(void)
{
	struct got *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	return g;
}

/* Reassemble the content an event names from the blobs seen so far. */
static void content(struct got *g, const struct torn_event *ev, uint8_t *out, size_t *len)
{
	*len = 0;
	for (uint32_t k = 0; k < ev->nchunks; k++) {
		torn_hash h = trace_chunk(ev, k);
		int found = 0;

		for (int i = 0; i < g->n && !found; i++) {
			struct torn_event b = rec(g, i);
			if (b.type == TORN_REC_BLOB && trace_chunk(&b, 0).lo == h.lo &&
			    trace_chunk(&b, 0).hi == h.hi) {
				memcpy(out + *len, b.data, b.data_len);
				*len += b.data_len;
				found = 1;
			}
		}
		assert_true(found);
	}
}

/* ---- tests */

static void test_emit_fills_seq_pid_tid(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct got *g = got_new();
	struct shim_lock lk;
	struct torn_event ev = { .type = TORN_EV_SYNC }, e;

	c->seq = 41;                    /* the recorder's own events came first */
	shim_lock(&lk);
	assert_true(shim_in_lock());
	shim_emit(&ev);
	ev = (struct torn_event){ .type = TORN_EV_SYNC };
	shim_emit(&ev);
	shim_unlock(&lk);
	assert_false(shim_in_lock());
	consume(c, g);
	assert_int_equal(g->n, 2);
	e = rec(g, 0);
	assert_int_equal(e.seq, 42);
	assert_int_equal(e.pid, getpid());
	assert_int_equal(e.tid, syscall(SYS_gettid));
	assert_int_equal(rec(g, 1).seq, 43);
	assert_int_equal(ev.seq, 43);   /* stored back */
	assert_int_equal(shim_seq_now(), 43);
	got_free(g);
	ctl_free(c);
	(void)state;
}

static void test_write_blob_once(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct got *g = got_new();
	struct shim_lock lk;
	char data[5000];
	struct iovec iov = { data, sizeof(data) };
	struct torn_event ev;

	memset(data, 'x', sizeof(data));
	shim_lock(&lk);
	for (int i = 0; i < 2; i++) {
		ev = (struct torn_event){ .type = TORN_EV_WRITE, .handle = 1, .off = 100 * i,
					  .len = sizeof(data), .result = sizeof(data),
					  .aux = TORN_SRC_WRITE };
		shim_emit_write(&ev, &iov, 1, sizeof(data));
	}
	shim_unlock(&lk);
	consume(c, g);
	/* blob, write, write: the second write names the stored blob */
	assert_int_equal(g->n, 3);
	assert_int_equal(rec(g, 0).type, TORN_REC_BLOB);
	assert_int_equal(rec(g, 0).seq, 0);
	for (int i = 1; i < 3; i++) {
		struct torn_event e = rec(g, i);
		torn_hash h = trace_hash(data, sizeof(data));

		assert_int_equal(e.type, TORN_EV_WRITE);
		assert_int_equal(e.nchunks, 1);
		assert_true(trace_chunk(&e, 0).lo == h.lo && trace_chunk(&e, 0).hi == h.hi);
		assert_int_equal(e.off, 100 * (i - 1));
		assert_int_equal(e.result, sizeof(data));
		assert_int_equal(e.flags & TORN_F_SPLIT, 0);
	}
	got_free(g);
	ctl_free(c);
	(void)state;
}

static void test_write_split_and_iovecs(void **state)
{
	struct shm_ctl *c = ctl_new(8 << 20, 4096);
	struct got *g = got_new();
	struct shim_lock lk;
	size_t total = 40 * TORN_CHUNK + 1234, got_len = 0, len;
	uint8_t *data = malloc(total), *back = malloc(total + TORN_CHUNK);
	/* iovecs cut anywhere: inside chunks, across several */
	struct iovec iov[4] = { { data, 1000 }, { data + 1000, 70000 },
				{ data + 71000, 3 * TORN_CHUNK }, { data + 71000 + 3 * TORN_CHUNK, 0 } };
	struct torn_event ev = { .type = TORN_EV_WRITE, .handle = 7, .off = 4096,
				 .len = (int64_t)total + 10, .result = (int64_t)total,
				 .flags = TORN_F_DIRECT, .aux = TORN_SRC_PWRITEV };
	int nev = 0;
	int64_t sum_len = 0, sum_res = 0;

	iov[3].iov_len = total - 71000 - 3 * TORN_CHUNK;
	for (size_t i = 0; i < total; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	shim_lock(&lk);
	shim_emit_write(&ev, iov, 4, total);
	shim_unlock(&lk);
	consume(c, g);
	for (int i = 0; i < g->n; i++) {
		struct torn_event e = rec(g, i);

		if (e.type == TORN_REC_BLOB)
			continue;
		assert_int_equal(e.type, TORN_EV_WRITE);
		assert_int_equal(e.off, 4096 + (int64_t)got_len);
		assert_int_equal(!!(e.flags & TORN_F_SPLIT), nev > 0);
		assert_true(e.flags & TORN_F_DIRECT);
		assert_true(e.nchunks <= 16);
		assert_int_equal(e.handle, 7);
		content(g, &e, back + got_len, &len);
		assert_int_equal(len, e.result);
		got_len += len;
		sum_len += e.len;
		sum_res += e.result;
		nev++;
	}
	assert_int_equal(nev, 3);                       /* 16 + 16 + 9 chunks */
	assert_int_equal(sum_res, total);
	assert_int_equal(sum_len, total + 10);          /* the unwritten tail is in the last len */
	assert_memory_equal(back, data, total);
	free(data);
	free(back);
	got_free(g);
	ctl_free(c);
	(void)state;
}

static void test_write_short_and_failed(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct got *g = got_new();
	struct shim_lock lk;
	char data[100] = "abc";
	struct iovec iov = { data, sizeof(data) };
	struct torn_event ev = { .type = TORN_EV_WRITE, .len = 100, .result = 60 }, e;

	shim_lock(&lk);
	shim_emit_write(&ev, &iov, 1, 60);
	ev = (struct torn_event){ .type = TORN_EV_WRITE, .len = 100, .result = -EIO };
	shim_emit_write(&ev, &iov, 1, 0);
	shim_unlock(&lk);
	consume(c, g);
	assert_int_equal(g->n, 3);
	e = rec(g, 1);
	assert_int_equal(e.len, 100);
	assert_int_equal(e.result, 60);
	assert_int_equal(e.nchunks, 1);
	assert_int_equal(rec(g, 0).data_len, 60);
	e = rec(g, 2);
	assert_int_equal(e.result, -EIO);
	assert_int_equal(e.nchunks, 0);
	got_free(g);
	ctl_free(c);
	(void)state;
}

/* The $TORN_MARK_FD file as the recorder makes it (record.c): p[1] is the
 * program's descriptor, p[0] the shim's (here one description, as in the
 * program, where both are copies of the recorder's). */
static void marks_file(int p[2])
{
	int fd = memfd_create("test-marks", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)SHM_MARK_SPAN), 0);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
	p[0] = fd;
	p[1] = dup(fd);
	assert_true(p[1] >= 0);
	g_mark_rd = p[0];
}

static void test_marks_drained_first(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct got *g = got_new();
	struct shim_lock lk;
	struct torn_event ev;
	int p[2];

	marks_file(p);
	assert_int_equal(write(p[1], "one\ntw", 6), 6);
	shim_lock(&lk);
	ev = (struct torn_event){ .type = TORN_EV_SYNC };
	shim_emit(&ev);
	assert_int_equal(write(p[1], "o\n", 2), 2);
	shim_emit_mark("api\nnot this", 12);
	shim_unlock(&lk);
	consume(c, g);
	assert_int_equal(g->n, 4);
	assert_int_equal(rec(g, 0).type, TORN_EV_MARK);
	assert_int_equal(rec(g, 0).text_len, 3);
	assert_memory_equal(rec(g, 0).text, "one", 3);
	assert_int_equal(rec(g, 0).pid, 0);          /* writer of a $TORN_MARK_FD line: unknown */
	assert_int_equal(rec(g, 1).type, TORN_EV_SYNC);
	assert_memory_equal(rec(g, 2).text, "two", 3);  /* the partial line was kept */
	assert_int_equal(rec(g, 3).text_len, 3);
	assert_memory_equal(rec(g, 3).text, "api", 3);
	/* A line written after the last event waits for the next one. */
	assert_int_equal(write(p[1], "three\n", 6), 6);
	torn_mark("fmt %d%s", 7, "\ncut");
	consume(c, g);
	assert_int_equal(g->n, 6);
	assert_memory_equal(rec(g, 4).text, "three", 5);
	assert_int_equal(rec(g, 5).text_len, 5);
	assert_memory_equal(rec(g, 5).text, "fmt 7", 5);
	close(p[1]);
	got_free(g);
	ctl_free(c);
	(void)state;
}

static void test_long_mark_line(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct got *g = got_new();
	struct shim_lock lk;
	struct torn_event ev = { .type = TORN_EV_SYNC };
	static char line[3001];
	int p[2];

	marks_file(p);
	memset(line, 'z', 3000);
	line[3000] = '\n';
	assert_int_equal(write(p[1], line, sizeof(line)), sizeof(line));
	assert_int_equal(write(p[1], "next\n", 5), 5);
	shim_lock(&lk);
	shim_emit(&ev);
	shim_unlock(&lk);
	consume(c, g);
	/* the line is kept up to TORN_MARK_MAX bytes, the rest dropped */
	assert_int_equal(g->n, 3);
	assert_int_equal(rec(g, 0).text_len, TORN_MARK_MAX);
	assert_int_equal(rec(g, 0).text[TORN_MARK_MAX - 1], 'z');
	assert_int_equal(rec(g, 1).text_len, 4);
	assert_memory_equal(rec(g, 1).text, "next", 4);
	assert_int_equal(rec(g, 2).type, TORN_EV_SYNC);
	close(p[1]);
	got_free(g);
	ctl_free(c);
	(void)state;
}

/* Lines spread over several windows of the marks file, written with no
 * event between them, all come before the next event, in order; and the
 * windows are mapped again when the position leaves them. */
static void test_marks_windows(void **state)
{
	struct shm_ctl *c = ctl_new(16 << 20, 1024);
	struct got *g = got_new();
	struct shim_lock lk;
	struct torn_event ev = { .type = TORN_EV_SYNC };
	uint64_t total = 0;
	char line[1024], pad[1000];
	int p[2], lines = 0;

	marks_file(p);
	while (total < 2 * SHM_MARK_WIN + 12345) {
		int n;

		memset(pad, 'a' + lines % 26, sizeof(pad));
		pad[900 + lines % 97] = '\0';    /* lines of 900-996 bytes: windows split some */
		n = snprintf(line, sizeof(line), "line %06d %s\n", lines, pad);

		assert_int_equal(write(p[1], line, (size_t)n), n);
		total += (uint64_t)n;
		lines++;
	}
	shim_lock(&lk);
	shim_emit(&ev);
	shim_unlock(&lk);
	consume(c, g);
	assert_int_equal(g->n, lines + 1);
	for (int i = 0; i < lines; i++) {
		char want[16];

		snprintf(want, sizeof(want), "line %06d", i);
		assert_int_equal(rec(g, (size_t)i).type, TORN_EV_MARK);
		assert_memory_equal(rec(g, (size_t)i).text, want, 11);
		assert_int_equal(rec(g, (size_t)i).text_len, 12 + 900 + i % 97);
	}
	assert_int_equal(rec(g, (size_t)lines).type, TORN_EV_SYNC);
	assert_int_equal(c->mark_pos, total);
	assert_int_equal(g_mark_win.off, total & ~(SHM_MARK_WIN - 1));
	close(p[1]);
	got_free(g);
	ctl_free(c);
	(void)state;
}

/* A NUL byte stops a producer's scan (bytes not yet written read 0); the
 * recorder, which drains up to the file position, takes the rest. */
static void test_marks_nul(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct got *g = got_new();
	struct shim_lock lk;
	struct torn_event ev = { .type = TORN_EV_SYNC };
	struct shm_markwin w = { 0 };
	off_t end;
	int p[2];

	marks_file(p);
	assert_int_equal(write(p[1], "a\n\0b\nc\n", 7), 7);
	shim_lock(&lk);
	shim_emit(&ev);
	shim_unlock(&lk);
	consume(c, g);
	assert_int_equal(g->n, 2);
	assert_memory_equal(rec(g, 0).text, "a", 1);
	assert_int_equal(rec(g, 1).type, TORN_EV_SYNC);
	end = lseek(p[1], 0, SEEK_CUR);
	assert_int_equal(end, 7);
	assert_int_equal(shm_lock(c), 0);
	assert_int_equal(shm_drain_marks(c, &w, p[0], (uint64_t)end), 0);
	shm_unlock(c);
	consume(c, g);
	assert_int_equal(g->n, 4);
	assert_int_equal(rec(g, 2).text_len, 2);
	assert_memory_equal(rec(g, 2).text, "\0b", 2);
	assert_memory_equal(rec(g, 3).text, "c", 1);
	munmap((void *)w.base, (size_t)SHM_MARK_WIN);
	close(p[1]);
	got_free(g);
	ctl_free(c);
	(void)state;
}

/* The seals: opening the file anew and truncating it, or appending past
 * its end, fails (EPERM) rather than losing the line. */
static void test_marks_sealed(void **state)
{
	char path[64];
	int p[2], fd;

	marks_file(p);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[1]);
	errno = 0;
	assert_int_equal(open(path, O_WRONLY | O_TRUNC), -1);
	assert_int_equal(errno, EPERM);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	errno = 0;
	assert_int_equal(write(fd, "x\n", 2), -1);
	assert_int_equal(errno, EPERM);
	close(fd);
	close(p[0]);
	close(p[1]);
	g_mark_rd = -1;
	(void)state;
}

static void test_torn_mark_formats(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct got *g = got_new();
	char longer[2 * TORN_MARK_MAX];

	torn_mark("put k%d %s\nrest", 17, "abc");
	memset(longer, 'y', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	torn_mark("%s", longer);
	consume(c, g);
	assert_int_equal(g->n, 2);
	assert_int_equal(rec(g, 0).text_len, 11);
	assert_memory_equal(rec(g, 0).text, "put k17 abc", 11);
	assert_int_equal(rec(g, 0).pid, getpid());
	assert_int_equal(rec(g, 1).text_len, TORN_MARK_MAX - 1);
	got_free(g);
	ctl_free(c);
	(void)state;
}

static void test_ring_wraps(void **state)
{
	struct shm_ctl *c = ctl_new(shm_align8(4u * TORN_REC_MAX), 1u << 16);
	struct got *g = got_new();
	struct shim_lock lk;
	static uint8_t data[3 * TORN_CHUNK];
	struct iovec iov = { data, 0 };
	uint64_t last = 0;
	int writes = 0;

	/* Sizes that do not divide the ring: records end everywhere, pads appear. */
	for (int i = 0; i < 200; i++) {
		struct torn_event ev = { .type = TORN_EV_WRITE, .len = 1 + (i * 7919) % (int)sizeof(data) };

		iov.iov_len = (size_t)ev.len;
		ev.result = ev.len;
		memset(data, i, sizeof(data));
		shim_lock(&lk);
		shim_emit_write(&ev, &iov, 1, iov.iov_len);
		shim_unlock(&lk);
		consume(c, g);      /* one write takes at most 3 blobs + 1 event: fits */
		writes++;
	}
	for (int i = 0; i < g->n; i++) {
		struct torn_event e = rec(g, i);
		if (e.type == TORN_REC_BLOB)
			continue;
		assert_true(e.seq > last);
		last = e.seq;
	}
	assert_int_equal(last, writes);
	assert_true(c->head > 2 * c->ring_size);     /* it did wrap, twice at least */
	got_free(g);
	ctl_free(c);
	(void)state;
}

static void test_dedup_cap(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 16);
	struct got *g = got_new();
	struct shim_lock lk;
	char d[8];
	struct iovec iov = { d, sizeof(d) };
	int blobs = 0;

	shim_lock(&lk);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 20; i++) {
			struct torn_event ev = { .type = TORN_EV_WRITE, .len = 8, .result = 8 };
			snprintf(d, sizeof(d), "c%05d", i);
			shim_emit_write(&ev, &iov, 1, sizeof(d));
		}
	shim_unlock(&lk);
	consume(c, g);
	assert_int_equal(c->dedup_used, 12);            /* 75% of 16, then no more */
	for (int i = 0; i < g->n; i++)
		blobs += rec(g, i).type == TORN_REC_BLOB;
	/* 20 distinct contents: the first 12 stored once, the other 8 each time */
	assert_int_equal(blobs, 20 + 8);
	got_free(g);
	ctl_free(c);
	(void)state;
}

/* What shim_signal.c's wrappers do around sigaction(@sig, handler or
 * SIG_DFL), without installing anything. */
static void say_handler(int sig, int user)
{
	struct shim_sig_change ch;

	shim_sig_change_begin(&ch, sig, user);
	shim_sig_change_end(&ch, 1);
}

static void test_lock_blocks_signals_and_reenters(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct shim_lock lk, inner;
	sigset_t cur;

	say_handler(SIGUSR1, 1);        /* the program has a handler: block */
	shim_lock(&lk);
	assert_int_equal(lk.held, 2);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_true(sigismember(&cur, SIGUSR1));
	assert_true(sigismember(&cur, SIGTERM));
	shim_lock(&inner);              /* a wrapper re-entered: must not deadlock */
	assert_int_equal(inner.held, 1);
	shim_unlock(&inner);
	assert_true(shim_in_lock());
	shim_unlock(&lk);
	assert_false(shim_in_lock());
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGUSR1));
	say_handler(SIGUSR1, 0);
	ctl_free(c);
	(void)state;
}

/* No handler installed: the lock leaves the mask alone and counts itself
 * (nested locks twice); a handler installed then removed switches blocking
 * on and off; a handler that could not be installed changes nothing. */
static void test_lock_unblocked_without_handler(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct shim_lock lk, inner;
	struct shim_sig_change ch;
	sigset_t cur;

	assert_non_null(g_pid_page);
	assert_int_equal(g_sig_user, 0);
	shim_lock(&lk);
	assert_int_equal(lk.held, 2);
	assert_true(lk.counted);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGUSR1));
	shim_lock(&inner);
	assert_int_equal(g_pid_page->unblocked, 2);
	shim_unlock(&inner);
	shim_unlock(&lk);
	assert_int_equal(g_pid_page->unblocked, 0);
	assert_int_equal(t_unblocked, 0);

	say_handler(SIGTERM, 1);
	shim_lock(&lk);
	assert_false(lk.counted);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_true(sigismember(&cur, SIGUSR1));
	assert_int_equal(g_pid_page->unblocked, 0);
	shim_unlock(&lk);
	say_handler(SIGTERM, 0);
	assert_int_equal(g_sig_user, 0);

	shim_sig_change_begin(&ch, SIGKILL, 1);         /* sigaction refuses it */
	shim_sig_change_end(&ch, 0);
	assert_int_equal(g_sig_user, 0);
	ctl_free(c);
	(void)state;
}

static volatile int g_installed;

static void *installer(void *arg)
{
	(void)arg;
	say_handler(SIGUSR2, 1);
	__atomic_store_n(&g_installed, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A handler is not installed while another thread holds a lock that left
 * signals unblocked: the installer waits for the unlock.  A fork child's
 * copy of a counted lock does not touch the child's (wiped) count. */
static void test_installer_waits_for_unblocked_lock(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct shim_lock lk;
	pthread_t thr;
	int status;
	pid_t pid;

	shim_lock(&lk);
	assert_true(lk.counted);
	pid = fork();
	if (pid == 0) {
		int ok = g_pid_page->unblocked == 0;

		shim_after_fork_child();
		shim_unlock(&lk);
		_exit(ok && g_pid_page->unblocked == 0 && t_unblocked == 0 ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_installed = 0;
	assert_int_equal(pthread_create(&thr, NULL, installer, NULL), 0);
	usleep(50000);
	assert_int_equal(__atomic_load_n(&g_installed, __ATOMIC_SEQ_CST), 0);
	shim_unlock(&lk);
	assert_int_equal(pthread_join(thr, NULL), 0);
	assert_int_equal(g_installed, 1);
	shim_lock(&lk);                 /* now with a handler: blocks */
	assert_false(lk.counted);
	shim_unlock(&lk);
	say_handler(SIGUSR2, 0);
	ctl_free(c);
	(void)state;
}

static void test_dead_owner(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct got *g = got_new();
	struct shim_lock lk;
	struct torn_event ev = { .type = TORN_EV_SYNC };
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		/* Die holding the lock, in the middle of a record. */
		uint64_t nh;
		shm_lock(c);
		memset(shm_reserve(c, 300, &nh), 0xee, 300);
		c->seq++;
		_exit(0);
	}
	assert_true(waitpid(pid, &st, 0) == pid);
	shim_lock(&lk);                 /* EOWNERDEAD: made consistent, taken */
	assert_int_equal(lk.held, 2);
	shim_emit(&ev);
	shim_unlock(&lk);
	consume(c, g);
	assert_int_equal(g->n, 1);      /* the half record is gone, a seq skipped */
	assert_int_equal(rec(g, 0).seq, 2);
	got_free(g);
	ctl_free(c);
	(void)state;
}

static void test_closed(void **state)
{
	struct shm_ctl *c = ctl_new(1 << 20, 1024);
	struct shim_lock lk;
	struct torn_event ev = { .type = TORN_EV_SYNC };

	assert_true(shim_active());
	c->closed = 1;
	assert_false(shim_active());
	shim_lock(&lk);
	shim_emit(&ev);
	shim_unlock(&lk);
	assert_int_equal(c->head, 0);
	ctl_free(c);
	assert_false(shim_active());
	(void)state;
}

static void test_exec_env(void **state)
{
	char *envp[] = { "A=1", "LD_PRELOAD=/other.so", "TORN_SHM=fd:99", "B=2", NULL };
	char *keep[] = { "LD_PRELOAD=/asan.so:/x/libtorn-shim.so:/more.so", NULL };
	char *out[8];

	snprintf(g_env_preload, sizeof(g_env_preload), "LD_PRELOAD=/x/libtorn-shim.so");
	snprintf(g_env_shm, sizeof(g_env_shm), "TORN_SHM=fd:1003");
	snprintf(g_env_markfd, sizeof(g_env_markfd), "TORN_MARK_FD=8");
	assert_int_equal(shim_exec_env(envp, out, 8), 5);
	assert_string_equal(out[0], "A=1");
	assert_string_equal(out[1], "B=2");
	assert_string_equal(out[2], "LD_PRELOAD=/x/libtorn-shim.so");
	assert_string_equal(out[3], "TORN_SHM=fd:1003");
	assert_string_equal(out[4], "TORN_MARK_FD=8");
	assert_null(out[5]);
	/* A program's LD_PRELOAD that still loads the shim is kept as it is. */
	assert_int_equal(shim_exec_env(keep, out, 8), 3);
	assert_string_equal(out[0], keep[0]);
	assert_int_equal(shim_exec_env(envp, out, 4), -E2BIG);
	(void)state;
}

/* record_hash (AVX2 when the CPU has it) is trace_hash bit for bit, at
 * every size class of XXH3 and at unaligned addresses. */
static void test_record_hash_is_trace_hash(void **state)
{
	static uint8_t buf[65536 + 64];
	static const size_t lens[] = { 0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1023,
				       1024, 4095, 4096, 4097, 65535, 65536 };

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 9));
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
		for (size_t at = 0; at < 3; at++) {
			torn_hash a = record_hash(buf + at, lens[k]), b = trace_hash(buf + at, lens[k]);

			assert_true(a.lo == b.lo && a.hi == b.hi);
		}
}

int main(void)
{
	/* The wipe-on-fork page, as under torn record (the constructor only
	 * makes it when $TORN_SHM is set). */
	pid_cache_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emit_fills_seq_pid_tid),
		cmocka_unit_test(test_record_hash_is_trace_hash),
		cmocka_unit_test(test_write_blob_once),
		cmocka_unit_test(test_write_split_and_iovecs),
		cmocka_unit_test(test_write_short_and_failed),
		cmocka_unit_test(test_marks_drained_first),
		cmocka_unit_test(test_long_mark_line),
		cmocka_unit_test(test_marks_windows),
		cmocka_unit_test(test_marks_nul),
		cmocka_unit_test(test_marks_sealed),
		cmocka_unit_test(test_torn_mark_formats),
		cmocka_unit_test(test_ring_wraps),
		cmocka_unit_test(test_dedup_cap),
		cmocka_unit_test(test_lock_blocks_signals_and_reenters),
		cmocka_unit_test(test_lock_unblocked_without_handler),
		cmocka_unit_test(test_installer_waits_for_unblocked_lock),
		cmocka_unit_test(test_dead_owner),
		cmocka_unit_test(test_closed),
		cmocka_unit_test(test_exec_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
