/*
 * tests/unit/trace_builder.h - write a trace file by hand, for tests.
 *
 *	tb_open("/tmp/x.trace");          // header, then:
 *	tb_root();                        // ROOT (root "/tmp/root", command "test")
 *	tb_init_file("a", 0644, "hi", 2); // starting snapshot (blobs emitted for you)
 *	tb_init_done();
 *	tb_open_file(1, "b", TORN_F_CREATED);      // handle 1 -> "b"
 *	tb_write(1, 0, "hello", 5, 0);             // pwrite of 5 bytes at 0
 *	tb_fsync(1);
 *	tb_rename("b", "c", 0);
 *	tb_mark("put k1");
 *	tb_end();
 *	tb_close();                       // closes the trace file
 *
 * Every event function returns the seq it was given: 1, 2, 3... in call
 * order.  Content is cut into TORN_CHUNK chunks and a blob record is written
 * before the first use of each distinct chunk, as the recorder does.
 * tb_next_result(r) overrides the result of the next event only (a failed
 * call); tb_pid(pid, tid) sets the process of the following events;
 * tb_event(&ev) writes any event (seq assigned when ev.seq == 0) and
 * tb_raw(&ev) writes a record exactly as given (no seq, no blobs).
 * Also: processes (tb_fork, tb_exec, tb_exit), tb_setfl, io_uring
 * (tb_uring_write + tb_uring_cqe), tb_mmap, tb_msync, tb_unsupported.
 * One trace is built at a time.  I/O errors abort the test with a message.
 */
#ifndef TORN_TESTS_UNIT_TRACE_BUILDER_H
#define TORN_TESTS_UNIT_TRACE_BUILDER_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "torn/trace.h"

struct tb_state {
	int      fd;
	uint64_t seq;
	uint32_t pid, tid;
	int      have_result;
	int64_t  next_result;
	torn_hash *seen;          /* hash set of the chunks already written as blobs */
	size_t   seen_cap, seen_n;
	uint8_t  *buf;            /* one encoded record */
};

static inline struct tb_state *tb_st(void)
{
	static struct tb_state s = { .fd = -1 };
	return &s;
}

static inline void tb_die(const char *what)
{
	fprintf(stderr, "trace_builder: %s: %s\n", what, strerror(errno));
	abort();
}

static inline void tb_put(const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(tb_st()->fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			tb_die("write");
		c += w;
		n -= (size_t)w;
	}
}

static inline void tb_open(const char *path)
{
	struct tb_state *s = tb_st();
	uint8_t hdr[TORN_TRACE_HDR_LEN];

	s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->fd < 0)
		tb_die(path);
	s->seq = 0;
	s->pid = 1000;
	s->tid = 1000;
	s->have_result = 0;
	s->seen_n = 0;
	if (!s->buf && !(s->buf = malloc(TORN_REC_MAX)))
		tb_die("malloc");
	trace_encode_header(hdr, 1700000000000000000ull);
	tb_put(hdr, sizeof(hdr));
}

static inline void tb_close(void)
{
	struct tb_state *s = tb_st();

	if (s->fd >= 0 && close(s->fd) < 0)
		tb_die("close");
	s->fd = -1;
	free(s->seen);
	s->seen = NULL;
	s->seen_cap = s->seen_n = 0;
	free(s->buf);
	s->buf = NULL;
}

static inline void tb_pid(uint32_t pid, uint32_t tid)
{
	tb_st()->pid = pid;
	tb_st()->tid = tid;
}

static inline void tb_next_result(int64_t r)
{
	tb_st()->have_result = 1;
	tb_st()->next_result = r;
}

/* Write @ev exactly as given. */
static inline void tb_raw(const struct torn_event *ev)
{
	long n = trace_encode(ev, tb_st()->buf, TORN_REC_MAX);

	if (n < 0) {
		errno = E2BIG;
		tb_die("trace_encode");
	}
	tb_put(tb_st()->buf, (size_t)n);
}

/* Write an event: seq assigned when 0, pid/tid filled when 0, the pending
 * tb_next_result() applied.  Returns the seq. */
static inline uint64_t tb_event(struct torn_event *ev)
{
	struct tb_state *s = tb_st();

	if (!ev->seq)
		ev->seq = ++s->seq;
	else if (ev->seq > s->seq)
		s->seq = ev->seq;
	if (!ev->pid)
		ev->pid = s->pid;
	if (!ev->tid)
		ev->tid = s->tid;
	if (s->have_result) {
		ev->result = s->next_result;
		s->have_result = 0;
	}
	tb_raw(ev);
	return ev->seq;
}

/* Write a blob for @h unless one was written already. */
static inline void tb_blob(const void *data, uint32_t len, torn_hash h)
{
	struct tb_state *s = tb_st();
	struct torn_event b;
	uint8_t hb[16];
	size_t i;

	if (s->seen_cap) {
		for (i = (size_t)h.lo & (s->seen_cap - 1); s->seen[i].lo || s->seen[i].hi;
		     i = (i + 1) & (s->seen_cap - 1))
			if (s->seen[i].lo == h.lo && s->seen[i].hi == h.hi)
				return;
	}
	if ((s->seen_n + 1) * 2 > s->seen_cap) {
		size_t cap = s->seen_cap ? s->seen_cap * 2 : 256, j;
		torn_hash *n = calloc(cap, sizeof(*n));

		if (!n)
			tb_die("calloc");
		for (i = 0; i < s->seen_cap; i++) {
			if (!s->seen[i].lo && !s->seen[i].hi)
				continue;
			for (j = (size_t)s->seen[i].lo & (cap - 1); n[j].lo || n[j].hi; j = (j + 1) & (cap - 1))
				;
			n[j] = s->seen[i];
		}
		free(s->seen);
		s->seen = n;
		s->seen_cap = cap;
	}
	for (i = (size_t)h.lo & (s->seen_cap - 1); s->seen[i].lo || s->seen[i].hi;
	     i = (i + 1) & (s->seen_cap - 1))
		;
	s->seen[i] = h;
	s->seen_n++;

	for (i = 0; i < 8; i++) {
		hb[i] = (uint8_t)(h.lo >> (8 * i));
		hb[8 + i] = (uint8_t)(h.hi >> (8 * i));
	}
	memset(&b, 0, sizeof(b));
	b.type = TORN_REC_BLOB;
	b.pid = s->pid;
	b.tid = s->tid;
	b.chunks = hb;
	b.nchunks = 1;
	b.data = data;
	b.data_len = len;
	tb_raw(&b);
}

/* Write @ev with @len bytes of content: blobs first, then the event naming
 * them.  Returns the seq. */
static inline uint64_t tb_event_content(struct torn_event *ev, const void *data, uint64_t len)
{
	uint32_t n = trace_nchunks(len), i, k;
	uint8_t *chunks = n ? malloc(16u * n) : NULL;
	uint64_t seq;

	if (n && !chunks)
		tb_die("malloc");
	for (i = 0; i < n; i++) {
		uint64_t at = (uint64_t)i * TORN_CHUNK;
		uint32_t cl = (uint32_t)(len - at < TORN_CHUNK ? len - at : TORN_CHUNK);
		torn_hash h = trace_hash((const uint8_t *)data + at, cl);

		tb_blob((const uint8_t *)data + at, cl, h);
		for (k = 0; k < 8; k++) {
			chunks[16 * i + k] = (uint8_t)(h.lo >> (8 * k));
			chunks[16 * i + 8 + k] = (uint8_t)(h.hi >> (8 * k));
		}
	}
	ev->chunks = chunks;
	ev->nchunks = n;
	seq = tb_event(ev);
	free(chunks);
	return seq;
}

static inline struct torn_event tb_ev(uint16_t type)
{
	struct torn_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	return ev;
}

#define TB_STR(ev, field, s) \
	do { (ev).field = (s); (ev).field##_len = (uint32_t)strlen(s); } while (0)

/* ---- recording context */

static inline uint64_t tb_root(void)
{
	struct torn_event ev = tb_ev(TORN_EV_ROOT);

	TB_STR(ev, path2, "/tmp/root");
	TB_STR(ev, text, "test");
	return tb_event(&ev);
}

static inline uint64_t tb_init_dir(const char *path, uint32_t mode)
{
	struct torn_event ev = tb_ev(TORN_EV_INIT_DIR);

	TB_STR(ev, path, path);
	ev.mode = 0040000u | mode;
	return tb_event(&ev);
}

static inline uint64_t tb_init_file(const char *path, uint32_t mode, const void *data, uint64_t len)
{
	struct torn_event ev = tb_ev(TORN_EV_INIT_FILE);

	TB_STR(ev, path, path);
	ev.mode = 0100000u | mode;
	ev.len = (int64_t)len;
	return tb_event_content(&ev, data, len);
}

static inline uint64_t tb_init_symlink(const char *path, const char *target)
{
	struct torn_event ev = tb_ev(TORN_EV_INIT_SYMLINK);

	TB_STR(ev, path, path);
	TB_STR(ev, path2, target);
	ev.mode = 0120777u;
	return tb_event(&ev);
}

static inline uint64_t tb_init_done(void) { struct torn_event ev = tb_ev(TORN_EV_INIT_DONE); return tb_event(&ev); }

static inline uint64_t tb_end(void)
{
	struct torn_event ev = tb_ev(TORN_EV_END);
	return tb_event(&ev);
}

static inline uint64_t tb_mark(const char *text)
{
	struct torn_event ev = tb_ev(TORN_EV_MARK);

	TB_STR(ev, text, text);
	return tb_event(&ev);
}

static inline uint64_t tb_fault(const char *point, int64_t err)
{
	struct torn_event ev = tb_ev(TORN_EV_FAULT);

	TB_STR(ev, text, point);
	ev.result = err;
	return tb_event(&ev);
}

/* ---- files.  @flags are TORN_F_* record flags; @oflags open(2) flags. */

static inline uint64_t tb_open_file_ex(uint64_t handle, const char *path, uint16_t flags,
				       uint32_t oflags, uint32_t mode)
{
	struct torn_event ev = tb_ev(TORN_EV_OPEN);

	TB_STR(ev, path, path);
	ev.handle = handle;
	ev.flags = flags;
	ev.oflags = oflags;
	ev.mode = mode;
	ev.result = 3;
	ev.blksize = 512;
	ev.dio_mem_align = ev.dio_offset_align = (oflags & O_DIRECT) ? 512 : 0;
	return tb_event(&ev);
}

static inline uint64_t tb_open_file(uint64_t handle, const char *path, uint16_t flags)
{
	uint32_t of = O_RDWR | ((flags & TORN_F_CREATED) ? O_CREAT : 0) |
		      ((flags & TORN_F_TRUNCATED) ? O_TRUNC : 0);
	return tb_open_file_ex(handle, path, flags, of, 0100644u);
}

static inline uint64_t tb_open_dir(uint64_t handle, const char *path)
{
	return tb_open_file_ex(handle, path, TORN_F_DIR, O_RDONLY | O_DIRECTORY, 0040755u);
}

static inline uint64_t tb_close_handle(uint64_t handle)
{
	struct torn_event ev = tb_ev(TORN_EV_CLOSE);

	ev.handle = handle;
	return tb_event(&ev);
}

/* A pwrite of @len bytes at @off that wrote them all (result = len). */
static inline uint64_t tb_write(uint64_t handle, int64_t off, const void *data, uint64_t len,
				uint16_t flags)
{
	struct torn_event ev = tb_ev(TORN_EV_WRITE);

	ev.handle = handle;
	ev.off = off;
	ev.len = (int64_t)len;
	ev.result = (int64_t)len;
	ev.flags = flags;
	ev.aux = TORN_SRC_PWRITE;
	if (tb_st()->have_result) {
		/* A failed or short write carries only the bytes it wrote. */
		int64_t r = tb_st()->next_result;
		if (r < (int64_t)len)
			len = r > 0 ? (uint64_t)r : 0;
	}
	return tb_event_content(&ev, data, len);
}

static inline uint64_t tb_sync_kind(uint64_t handle, uint32_t kind)
{
	struct torn_event ev = tb_ev(TORN_EV_FSYNC);

	ev.handle = handle;
	ev.aux = kind;
	ev.aux_seq = tb_st()->seq + 1;   /* started just now */
	return tb_event(&ev);
}

static inline uint64_t tb_fsync(uint64_t handle) { return tb_sync_kind(handle, TORN_SYNC_FSYNC); }
static inline uint64_t tb_fdatasync(uint64_t handle) { return tb_sync_kind(handle, TORN_SYNC_FDATASYNC); }

static inline uint64_t tb_sync(void) { struct torn_event ev = tb_ev(TORN_EV_SYNC); return tb_event(&ev); }

static inline uint64_t tb_syncfs(uint64_t handle)
{
	struct torn_event ev = tb_ev(TORN_EV_SYNCFS);

	ev.handle = handle;
	return tb_event(&ev);
}

static inline uint64_t tb_sync_range(uint64_t handle, int64_t off, int64_t len, uint32_t flags)
{
	struct torn_event ev = tb_ev(TORN_EV_SYNC_RANGE);

	ev.handle = handle;
	ev.off = off;
	ev.len = len;
	ev.oflags = flags;
	return tb_event(&ev);
}

static inline uint64_t tb_truncate(uint64_t handle, int64_t len)
{
	struct torn_event ev = tb_ev(TORN_EV_TRUNCATE);

	ev.handle = handle;
	ev.len = len;
	return tb_event(&ev);
}

static inline uint64_t tb_truncate_path(const char *path, int64_t len)
{
	struct torn_event ev = tb_ev(TORN_EV_TRUNCATE);

	TB_STR(ev, path, path);
	ev.len = len;
	return tb_event(&ev);
}

static inline uint64_t tb_fallocate(uint64_t handle, uint32_t mode, int64_t off, int64_t len)
{
	struct torn_event ev = tb_ev(TORN_EV_FALLOCATE);

	ev.handle = handle;
	ev.oflags = mode;
	ev.off = off;
	ev.len = len;
	return tb_event(&ev);
}

/* ---- namespace */

static inline uint64_t tb_path2_event(uint16_t type, const char *a, const char *b, uint32_t oflags)
{
	struct torn_event ev = tb_ev(type);

	TB_STR(ev, path, a);
	if (b)
		TB_STR(ev, path2, b);
	ev.oflags = oflags;
	return tb_event(&ev);
}

/* @flags: RENAME_NOREPLACE / RENAME_EXCHANGE (or 0). */
static inline uint64_t tb_rename(const char *from, const char *to, uint32_t flags)
{
	return tb_path2_event(TORN_EV_RENAME, from, to, flags);
}
static inline uint64_t tb_unlink(const char *path) { return tb_path2_event(TORN_EV_UNLINK, path, NULL, 0); }
static inline uint64_t tb_link(const char *existing, const char *newname)
{
	return tb_path2_event(TORN_EV_LINK, existing, newname, 0);
}
static inline uint64_t tb_rmdir(const char *path) { return tb_path2_event(TORN_EV_RMDIR, path, NULL, 0); }
static inline uint64_t tb_symlink(const char *path, const char *target)
{
	return tb_path2_event(TORN_EV_SYMLINK, path, target, 0);
}

static inline uint64_t tb_mkdir(const char *path, uint32_t mode)
{
	struct torn_event ev = tb_ev(TORN_EV_MKDIR);

	TB_STR(ev, path, path);
	ev.mode = 0040000u | mode;
	return tb_event(&ev);
}

static inline uint64_t tb_import(const char *path, uint32_t mode, const void *data, uint64_t len)
{
	struct torn_event ev = tb_ev(TORN_EV_IMPORT);

	TB_STR(ev, path, path);
	ev.mode = 0100000u | mode;
	ev.len = (int64_t)len;
	return tb_event_content(&ev, data, len);
}

/* ---- processes */

static inline uint64_t tb_fork(uint32_t child)
{
	struct torn_event ev = tb_ev(TORN_EV_PROC_FORK);

	ev.result = child;
	return tb_event(&ev);
}

static inline uint64_t tb_exec(const char *program, const char *argv)
{
	struct torn_event ev = tb_ev(TORN_EV_PROC_EXEC);

	TB_STR(ev, path2, program);
	TB_STR(ev, text, argv);
	return tb_event(&ev);
}

static inline uint64_t tb_exit(int64_t status)
{
	struct torn_event ev = tb_ev(TORN_EV_PROC_EXIT);

	ev.result = status;
	return tb_event(&ev);
}

static inline uint64_t tb_setfl(uint64_t handle, uint32_t oflags)
{
	struct torn_event ev = tb_ev(TORN_EV_SETFL);

	ev.handle = handle;
	ev.oflags = oflags;
	return tb_event(&ev);
}

/* ---- io_uring: a write submitted, then its completion */

static inline uint64_t tb_uring_write(uint64_t handle, int64_t off, const void *data, uint64_t len,
				      uint64_t user_data)
{
	struct torn_event ev = tb_ev(TORN_EV_URING_SUBMIT);

	ev.handle = handle;
	ev.off = off;
	ev.len = (int64_t)len;
	ev.aux = 23;                     /* IORING_OP_WRITE */
	ev.aux_seq = user_data;
	return tb_event_content(&ev, data, len);
}

static inline uint64_t tb_uring_cqe(uint64_t user_data, int64_t res)
{
	struct torn_event ev = tb_ev(TORN_EV_URING_CQE);

	ev.aux_seq = user_data;
	ev.result = res;
	return tb_event(&ev);
}

/* ---- seen but not modelled */

static inline uint64_t tb_mmap(uint64_t handle, int64_t off, int64_t len)
{
	struct torn_event ev = tb_ev(TORN_EV_MMAP);

	ev.handle = handle;
	ev.off = off;
	ev.len = len;
	return tb_event(&ev);
}

static inline uint64_t tb_msync(uint64_t handle, int64_t off, int64_t len)
{
	struct torn_event ev = tb_ev(TORN_EV_MSYNC);

	ev.handle = handle;
	ev.off = off;
	ev.len = len;
	return tb_event(&ev);
}

static inline uint64_t tb_unsupported(const char *what)
{
	struct torn_event ev = tb_ev(TORN_EV_UNSUPPORTED);

	TB_STR(ev, text, what);
	return tb_event(&ev);
}

#endif /* TORN_TESTS_UNIT_TRACE_BUILDER_H */
