/*
 * injector/record.c - `torn record`: run a program under the shim, write
 * its trace (contract in injector/record.h, shared layout in injector/shm.h).
 *
 * Sections: 1. robust I/O and the trace writer, 2. the control file,
 * 3. the starting snapshot, 4. starting the program, 5. the consumer
 * thread (ring -> trace), 6. the main loop and record_run.
 *
 * Threads: the main thread writes the header and the snapshot, starts the
 * program, then drains the mark pipes (under the shared lock, like the shim
 * does before each event) and waits for the program; the consumer thread
 * copies records from the ring to the trace file.  The main thread touches
 * the trace writer only before the consumer starts and after it is joined.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "shim.h"
#include "shm.h"
#include "trace_io.h"

extern char **environ;

static int fail(struct record_error *err, int bad_input, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct record_error *err, int bad_input, int code, const char *fmt, ...)
{
	va_list ap;

	err->bad_input = bad_input;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code < 0 ? code : -EIO;
}

/* ==========================================================================
 * 1. ROBUST I/O AND THE TRACE WRITER
 * ========================================================================== */

static int robust_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to @len bytes; fewer only at end of file.  Returns the count. */
static ssize_t robust_read(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

#define WRITER_BUF (1u << 20)

/* Appends whole records to the trace: the recorder's own through a buffer,
 * the program's straight from the ring (writer_putv), written as soon as
 * the consumer has taken them out, so that a killed recorder leaves a trace
 * readable up to a recent record.
 *
 * Direct mode.  A trace on a disk is a second copy of every byte the
 * program writes; through the page cache it costs the recorder a copy into
 * the cache and the kernel its writeback, on the machine the program runs
 * on (on 2 cores, ~15 ms of the 64 MiB stream benchmark's 80).  So where
 * the file system takes O_DIRECT (writer_direct_open: a regular file, not
 * tmpfs, which has no device to bypass), whole blocks go to the device from
 * an aligned buffer through a second descriptor, @dfd: @buf then holds the
 * file's bytes [bytes - used, bytes), its start block-aligned.  What is
 * left of a block when the recorder flushes (writer_flush: the consumer
 * found the ring empty, or the end) is written through the page cache
 * (@fd, pwrite) and stays in @buf, to be written again, directly, once its
 * block is whole: the file never holds padding, its size is always the
 * bytes written, and a killed recorder leaves what a buffered one would.
 * A direct write the file system refuses (EINVAL) turns direct mode off
 * for good; its bytes go through @fd. */
struct writer {
	int      fd;
	int      dfd;               /* the trace opened O_DIRECT, or -1 */
	uint32_t dalign;            /* its offset and length alignment */
	int      err;               /* first write error (-errno), later writes dropped */
	size_t   used;
	size_t   cap;               /* of buf: WRITER_BUF, or WRITER_DIRECT_BUF */
	uint64_t bytes;             /* written or buffered */
	uint64_t flushed;           /* of which in the file (direct mode: the rest in buf) */
	uint64_t kicked;            /* bytes whose writeback was started */
	uint8_t *buf;
};

#define WRITER_KICK (8u << 20)
#define WRITER_DIRECT_BUF (1u << 20)
#define WRITER_DIRECT_ALIGN 4096u

/* Open @path (already open as @w->fd) for direct writes, where that helps
 * and works; nothing changes when it does not. */
static void writer_direct_open(struct writer *w, const char *path)
{
	struct statx stx;
	struct statfs sfs;
	struct stat a, b;
	uint8_t *buf = NULL;
	int dfd;

	if (fstat(w->fd, &a) != 0 || !S_ISREG(a.st_mode) || fstatfs(w->fd, &sfs) != 0 ||
	    sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC)
		return;
	dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0)
		return;
	/* The same file (not one renamed into its place meanwhile), blocks the
	 * buffer's alignment covers (Linux >= 6.1 says; else try, see above). */
	if (fstat(dfd, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino ||
	    (statx(dfd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	     (stx.stx_mask & STATX_DIOALIGN) &&
	     (!stx.stx_dio_offset_align || WRITER_DIRECT_ALIGN % stx.stx_dio_offset_align ||
	      WRITER_DIRECT_ALIGN % (stx.stx_dio_mem_align ? stx.stx_dio_mem_align : 1))) ||
	    posix_memalign((void **)&buf, WRITER_DIRECT_ALIGN, WRITER_DIRECT_BUF) != 0) {
		close(dfd);
		return;
	}
	memcpy(buf, w->buf, w->used);
	free(w->buf);
	w->buf = buf;
	w->cap = WRITER_DIRECT_BUF;
	w->dfd = dfd;
	w->dalign = WRITER_DIRECT_ALIGN;
}

/* Direct mode off: what @buf holds goes through @fd, which goes on from
 * the end (buffered mode writes at its position). */
static void writer_direct_off(struct writer *w)
{
	close(w->dfd);
	w->dfd = -1;
	if (w->used && !w->err)
		w->err = trace_pwrite_all(w->fd, w->buf, w->used, (off_t)(w->bytes - w->used));
	w->used = 0;
	if (!w->err && lseek(w->fd, (off_t)w->bytes, SEEK_SET) < 0)
		w->err = -errno;
	w->flushed = w->kicked = w->bytes;
}

/* Direct mode: write the whole blocks of @buf, keep the rest at its start. */
static void writer_direct_blocks(struct writer *w)
{
	size_t whole = w->used / w->dalign * w->dalign;
	int rc;

	if (!whole || w->err)
		return;
	rc = trace_pwrite_all(w->dfd, w->buf, whole, (off_t)(w->bytes - w->used));
	if (rc == -EINVAL) {
		writer_direct_off(w);
		return;
	}
	if (rc < 0) {
		w->err = rc;
		return;
	}
	memmove(w->buf, w->buf + whole, w->used - whole);
	w->used -= whole;
}

/* Start the writeback of what is written as we go (no waiting), so that the
 * fsync at the end has only the tail left to wait for.  (Direct mode has
 * nothing to start: its blocks are on the device.) */
static void writer_kick(struct writer *w)
{
	if (!w->err && w->dfd < 0 && w->bytes - w->kicked >= WRITER_KICK) {
		sync_file_range(w->fd, (off_t)w->kicked, (off_t)(w->bytes - w->kicked),
				SYNC_FILE_RANGE_WRITE);
		w->kicked = w->bytes;
	}
}

/* Write out everything appended so far (in direct mode, the last partial
 * block through the page cache, kept for its direct write later). */
static int writer_flush(struct writer *w)
{
	if (w->dfd >= 0) {
		writer_direct_blocks(w);
		if (w->dfd >= 0 && w->used && !w->err)
			w->err = trace_pwrite_all(w->fd, w->buf, w->used, (off_t)(w->bytes - w->used));
		w->flushed = w->bytes;
		return w->err;
	}
	if (w->used && !w->err)
		w->err = robust_write(w->fd, w->buf, w->used);
	w->used = 0;
	w->flushed = w->bytes;
	writer_kick(w);
	return w->err;
}

/* Append @len bytes to the buffer, writing whole blocks out as it fills
 * (direct mode). */
static void writer_copy(struct writer *w, const uint8_t *p, size_t len)
{
	while (len > 0 && !w->err) {
		size_t n = w->cap - w->used < len ? w->cap - w->used : len;

		memcpy(w->buf + w->used, p, n);
		w->used += n;
		w->bytes += n;
		p += n;
		len -= n;
		if (w->used == w->cap)
			writer_direct_blocks(w);
		if (w->dfd < 0 && len) {        /* direct mode went off: the rest as it was */
			w->bytes += len;
			w->err = w->err ? w->err : robust_write(w->fd, p, len);
			return;
		}
	}
}

/* Append the @n pieces of @iov as they are (records in the ring: no copy,
 * or in direct mode copied into the aligned buffer), after what is
 * buffered. */
static void writer_putv(struct writer *w, struct iovec *iov, int n)
{
	if (w->dfd >= 0) {
		for (int i = 0; i < n; i++)
			writer_copy(w, iov[i].iov_base, iov[i].iov_len);
		if (w->used >= WRITER_BUF)
			writer_direct_blocks(w);
		return;
	}
	writer_flush(w);
	for (int i = 0; i < n; i++)
		w->bytes += iov[i].iov_len;
	while (n > 0 && !w->err) {
		ssize_t r = writev(w->fd, iov, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->err = r < 0 ? -errno : -EIO;
			break;
		}
		/* a short count: skip what was written, go on with the rest */
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	writer_kick(w);
}

static void writer_put(struct writer *w, const void *rec, size_t len)
{
	if (w->dfd >= 0) {
		writer_copy(w, rec, len);
		return;
	}
	if (w->used + len > WRITER_BUF)
		writer_flush(w);
	memcpy(w->buf + w->used, rec, len);
	w->used += len;
	w->bytes += len;
}

/* Encode @ev (seq already set) and append it. */
static int writer_event(struct writer *w, const struct torn_event *ev)
{
	static uint8_t rec[TORN_REC_MAX];   /* main thread only (before/after the consumer) */
	long n = trace_encode(ev, rec, sizeof(rec));

	if (n < 0)
		return (int)n;
	writer_put(w, rec, (size_t)n);
	return 0;
}

/* ==========================================================================
 * 2. THE CONTROL FILE
 * ========================================================================== */

struct ctlfile {
	char path[PATH_MAX];
	int fd;                     /* given to the program at SHM_FD_CTL */
	struct shm_ctl *c;
	size_t size;
};

static int ctl_create(struct ctlfile *cf, const char *root, size_t ring_size, int marks_from_stdout,
		      struct record_error *err)
{
	const char *dir = "/dev/shm", *tmp = getenv("TMPDIR");
	pthread_mutexattr_t ma;
	struct stat st;
	uint64_t dedup_bytes = 16ull << SHM_DEDUP_BITS;
	int fd = -1, rc = 0, r;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0)
		dir = tmp && *tmp ? tmp : "/tmp";
	snprintf(cf->path, sizeof(cf->path), "%s/torn-ctl-XXXXXX", dir);
	fd = mkostemp(cf->path, O_CLOEXEC);
	if (fd < 0) {
		rc = fail(err, 0, -errno, "%s: cannot create the control file: %s", dir, strerror(errno));
		goto out;
	}
	/* The name is not needed any more: the program inherits the descriptor,
	 * and a recorder killed at any point leaves nothing in /dev/shm. */
	unlink(cf->path);
	ring_size = (size_t)shm_align8(ring_size ? ring_size : SHM_RING_DEFAULT);
	if (ring_size < 4u * TORN_REC_MAX)
		ring_size = (size_t)shm_align8(4u * TORN_REC_MAX);
	cf->size = SHM_CTL_SIZE + dedup_bytes + ring_size;
	/* Sparse: pages of the ring and the dedup set cost memory once touched. */
	if (ftruncate(fd, (off_t)cf->size) != 0) {
		rc = fail(err, 0, -errno, "%s: cannot size the control file: %s", cf->path, strerror(errno));
		goto out;
	}
	cf->c = mmap(NULL, cf->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cf->c == MAP_FAILED) {
		cf->c = NULL;
		rc = fail(err, 0, -errno, "%s: cannot map the control file: %s", cf->path, strerror(errno));
		goto out;
	}
	struct shm_ctl *c = cf->c;
	c->version = SHM_VERSION;
	c->ctl_size = SHM_CTL_SIZE;
	c->map_size = cf->size;
	c->dedup_off = SHM_CTL_SIZE;
	c->dedup_slots = 1u << SHM_DEDUP_BITS;
	c->ring_off = SHM_CTL_SIZE + dedup_bytes;
	c->ring_size = ring_size;
	c->recorder_pid = getpid();
	c->mark_rd = c->stdout_rd = c->stdout_orig = -1;
	c->marks_from_stdout = marks_from_stdout ? 1u : 0u;
	c->root_len = (uint32_t)strlen(root);
	memcpy(c->root, root, c->root_len + 1);
	/* Process-shared and robust: the program's processes take it, and one
	 * killed while holding it must not stop the others (EOWNERDEAD). */
	pthread_mutexattr_init(&ma);
	r = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	if (!r)
		r = pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	if (!r)
		r = pthread_mutex_init(&c->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	if (r) {
		rc = fail(err, 0, -r, "cannot set up the shared lock: %s", strerror(r));
		goto out;
	}
	/* The magic last: a shim never trusts a half-initialised block. */
	__atomic_store_n(&c->magic, SHM_MAGIC, __ATOMIC_RELEASE);
	cf->fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static void ctl_destroy(struct ctlfile *cf)
{
	if (cf->c)
		munmap(cf->c, cf->size);
	cf->c = NULL;
	if (cf->fd >= 0)
		close(cf->fd);
	cf->fd = -1;
}

/* ==========================================================================
 * 3. THE STARTING SNAPSHOT
 * ========================================================================== */

struct snap {
	struct writer *w;
	struct shm_ctl *c;
	struct record_error *err;
	const char *root;
	dev_t skip_dev[2];          /* the trace and the control file: never recorded */
	ino_t skip_ino[2];
	uint32_t pid;
	uint64_t files;
	uint8_t *chunk;             /* TORN_CHUNK bytes */
	uint8_t *hashes;            /* room for the most chunks one record can name */
	uint32_t max_chunks;
};

static int snap_event(struct snap *s, struct torn_event *ev)
{
	int rc;

	ev->pid = s->pid;
	ev->tid = s->pid;
	ev->seq = ++s->c->seq;
	rc = writer_event(s->w, ev);
	if (rc < 0)
		return fail(s->err, 1, rc, "%s/%.*s: too large for one trace record", s->root,
			    (int)ev->path_len, ev->path);
	return 0;
}

static int snap_file(struct snap *s, int dirfd, const char *name, const char *rel,
		     const struct stat *st)
{
	struct torn_event ev = { .type = TORN_EV_INIT_FILE };
	uint64_t size = 0;
	uint32_t n = 0;
	int fd = -1, rc = 0;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = fail(s->err, 1, -errno, "%s/%s: cannot read for the starting snapshot: %s",
			  s->root, rel, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t got = robust_read(fd, s->chunk, TORN_CHUNK);
		torn_hash h;

		if (got < 0) {
			rc = fail(s->err, 1, (int)got, "%s/%s: cannot read for the starting snapshot: %s",
				  s->root, rel, strerror((int)-got));
			goto out;
		}
		if (got == 0)
			break;
		if (n == s->max_chunks) {
			rc = fail(s->err, 1, -EFBIG, "%s/%s: too large for the starting snapshot "
				  "(at most %u bytes per file)", s->root, rel,
				  s->max_chunks * TORN_CHUNK);
			goto out;
		}
		h = trace_hash(s->chunk, (size_t)got);
		if (!shm_dedup_has(s->c, h)) {
			uint8_t hb[16];
			struct torn_event b = { .type = TORN_REC_BLOB, .pid = s->pid, .tid = s->pid,
						.chunks = hb, .nchunks = 1, .data = s->chunk,
						.data_len = (uint32_t)got };

			for (int i = 0; i < 8; i++) {
				hb[i] = (uint8_t)(h.lo >> (8 * i));
				hb[8 + i] = (uint8_t)(h.hi >> (8 * i));
			}
			rc = writer_event(s->w, &b);
			if (rc < 0)
				goto out;
			s->c->blobs++;
			shm_dedup_add(s->c, h);
		}
		for (int i = 0; i < 8; i++) {
			s->hashes[16 * n + i] = (uint8_t)(h.lo >> (8 * i));
			s->hashes[16 * n + 8 + i] = (uint8_t)(h.hi >> (8 * i));
		}
		n++;
		size += (uint64_t)got;
		if ((size_t)got < TORN_CHUNK)
			break;
	}
	ev.path = rel;
	ev.path_len = (uint32_t)strlen(rel);
	ev.mode = st->st_mode;
	ev.ino = st->st_ino;
	ev.len = (int64_t)size;
	ev.chunks = s->hashes;
	ev.nchunks = n;
	rc = snap_event(s, &ev);
	s->files++;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry below the directory @dirfd (path @rel, "" for the root), in
 * sorted order, a directory before what it holds.  Consumes @dirfd. */
static int snap_dir(struct snap *s, int dirfd, const char *rel)
{
	DIR *d = NULL;
	struct dirent *de;
	char **names = NULL, path[TORN_PATH_MAX + 1];
	size_t n = 0, cap = 0;
	int rc = 0;

	d = fdopendir(dirfd);
	if (!d) {
		rc = fail(s->err, 1, -errno, "%s/%s: cannot list: %s", s->root, rel, strerror(errno));
		close(dirfd);
		goto out;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));
			if (!nn) {
				rc = fail(s->err, 0, -ENOMEM, "out of memory");
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = fail(s->err, 0, -ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	if (n)                  /* qsort(NULL, 0, ...) is undefined (UBSan) */
		qsort(names, n, sizeof(*names), name_cmp);

	for (size_t i = 0; i < n && rc == 0; i++) {
		struct torn_event ev = { 0 };
		struct stat st;
		int len = snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", names[i]);

		if (len < 0 || (size_t)len > TORN_PATH_MAX) {
			rc = fail(s->err, 1, -ENAMETOOLONG, "%s/%s/%s: path too long for a trace",
				  s->root, rel, names[i]);
			break;
		}
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = fail(s->err, 1, -errno, "%s/%s: %s", s->root, path, strerror(errno));
			break;
		}
		if ((st.st_dev == s->skip_dev[0] && st.st_ino == s->skip_ino[0]) ||
		    (st.st_dev == s->skip_dev[1] && st.st_ino == s->skip_ino[1]))
			continue;
		ev.path = path;
		ev.path_len = (uint32_t)len;
		ev.mode = st.st_mode;
		ev.ino = st.st_ino;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			ev.type = TORN_EV_INIT_DIR;
			rc = snap_event(s, &ev);
			if (rc == 0 && sub < 0)
				rc = fail(s->err, 1, -errno, "%s/%s: cannot open: %s", s->root, path,
					  strerror(errno));
			if (rc == 0) {
				char sub_rel[TORN_PATH_MAX + 1];

				memcpy(sub_rel, path, (size_t)len + 1);
				rc = snap_dir(s, sub, sub_rel);
				sub = -1;
			}
			if (sub >= 0)
				close(sub);
		} else if (S_ISREG(st.st_mode)) {
			rc = snap_file(s, dirfd, names[i], path, &st);
		} else if (S_ISLNK(st.st_mode)) {
			char target[TORN_PATH_MAX + 1];
			ssize_t tl = readlinkat(dirfd, names[i], target, sizeof(target));

			if (tl < 0 || (size_t)tl > TORN_PATH_MAX) {
				rc = fail(s->err, 1, tl < 0 ? -errno : -ENAMETOOLONG,
					  "%s/%s: cannot read the symbolic link", s->root, path);
				break;
			}
			ev.type = TORN_EV_INIT_SYMLINK;
			ev.path2 = target;
			ev.path2_len = (uint32_t)tl;
			rc = snap_event(s, &ev);
		} else {
			/* A FIFO, socket or device has no content to rebuild. */
			fprintf(stderr, "torn: %s/%s: not a file, directory or symbolic link: "
				"left out of the starting snapshot\n", s->root, path);
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d)
		closedir(d);
	return rc;
}

/* ==========================================================================
 * 4. STARTING THE PROGRAM
 * ========================================================================== */

struct child {
	pid_t pid;
	int mark_fd;                /* the $TORN_MARK_FD file (shm.h, section 5) */
	struct shm_markwin mark_win;  /* our window of it */
	uint64_t mark_punched;      /* bytes of it given back (punched out) */
	int out_rd, out_wr;         /* the stdout pipe (--marks-from-stdout) */
	int ctl_fd;                 /* the control file (owned by struct ctlfile) */
	char **envp;
	char *env_strs[3];
};

static void child_fds_close(struct child *ch)
{
	int *fds[] = { &ch->mark_fd, &ch->out_rd, &ch->out_wr };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void child_free(struct child *ch)
{
	if (ch->mark_win.base)
		munmap((void *)ch->mark_win.base, (size_t)SHM_MARK_WIN);
	ch->mark_win.base = NULL;
	child_fds_close(ch);
	free(ch->envp);
	for (int i = 0; i < 3; i++)
		free(ch->env_strs[i]);
}

/* The sanitized build (TORN_SANITIZE) compiles the shim with ASan+UBSan:
 * it loads only into a process whose first preloaded library is the ASan
 * runtime, so torn record puts TORN_ASAN_RUNTIME (gcc's libasan.so, named
 * at build time) in front of LD_PRELOAD unless it is already first.  The
 * shim's exec wrappers carry that LD_PRELOAD on to every image the program
 * runs (docs/record.md, "The sanitized build"). */
#ifdef TORN_ASAN_RUNTIME
static const char *asan_first(const char *old)
{
	size_t n = strlen(TORN_ASAN_RUNTIME);

	if (old && !strncmp(old, TORN_ASAN_RUNTIME, n) && (old[n] == ':' || old[n] == ' ' ||
							    !old[n]))
		return "";
	return TORN_ASAN_RUNTIME ":";
}
#else
static const char *asan_first(const char *old)
{
	return "";
}
#endif

/* The program's environment: ours, with LD_PRELOAD (the shim after any
 * library already preloaded, such as a sanitizer runtime that must come
 * first), TORN_SHM and TORN_MARK_FD set. */
static int child_env(struct child *ch, const char *shim)
{
	const char *old = getenv(SHIM_ENV_PRELOAD);
	const char *first = asan_first(old);
	size_t n = 0, cap = 4;
	int r0, r1, r2;

	for (char **e = environ; *e; e++)
		cap++;
	ch->envp = calloc(cap, sizeof(char *));
	if (old && *old)
		r0 = asprintf(&ch->env_strs[0], "%s=%s%s:%s", SHIM_ENV_PRELOAD, first, old, shim);
	else
		r0 = asprintf(&ch->env_strs[0], "%s=%s%s", SHIM_ENV_PRELOAD, first, shim);
	r1 = asprintf(&ch->env_strs[1], "%s=fd:%d", SHIM_ENV_CTL, SHM_FD_CTL);
	r2 = asprintf(&ch->env_strs[2], "%s=%d", SHIM_ENV_MARK_FD, SHM_MARK_FD);
	/* asprintf leaves the pointer undefined on failure */
	if (r0 < 0) ch->env_strs[0] = NULL;
	if (r1 < 0) ch->env_strs[1] = NULL;
	if (r2 < 0) ch->env_strs[2] = NULL;
	if (!ch->envp || r0 < 0 || r1 < 0 || r2 < 0)
		return -ENOMEM;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, SHIM_ENV_PRELOAD "=", sizeof(SHIM_ENV_PRELOAD)) &&
		    strncmp(*e, SHIM_ENV_CTL "=", sizeof(SHIM_ENV_CTL)) &&
		    strncmp(*e, SHIM_ENV_MARK_FD "=", sizeof(SHIM_ENV_MARK_FD)))
			ch->envp[n++] = *e;
	for (int i = 0; i < 3; i++)
		ch->envp[n++] = ch->env_strs[i];
	ch->envp[n] = NULL;
	return 0;
}

/* In the child, between fork and exec: only async-signal-safe calls.
 * @map: pairs (source fd, target fd); sources are first moved above every
 * target (still close-on-exec), so that no target overwrites a source not
 * yet placed.  The moved sources stay under a soft RLIMIT_NOFILE of 1024. */
static void child_place_fds(int (*map)[2], int n)
{
	for (int i = 0; i < n; i++)
		if (map[i][0] >= 0)
			map[i][0] = fcntl(map[i][0], F_DUPFD_CLOEXEC, SHM_FD_CTL + 1);
	for (int i = 0; i < n; i++)
		if (map[i][0] >= 0 && map[i][1] >= 0)
			dup2(map[i][0], map[i][1]);     /* dup2 clears FD_CLOEXEC on the target */
}

static void child_exec(struct child *ch, char *const *argv, int errfd, int marks_from_stdout)
{
	int map[7][2] = {
		{ errfd, -1 },                  /* only moved out of the way */
		{ ch->ctl_fd, SHM_FD_CTL },
		{ ch->mark_fd, SHM_FD_MARK_RD },
		{ ch->mark_fd, SHM_MARK_FD },
		{ marks_from_stdout ? STDOUT_FILENO : -1, SHM_FD_STDOUT_ORIG },
		{ ch->out_rd, SHM_FD_STDOUT_RD },
		{ ch->out_wr, STDOUT_FILENO },
	};
	sigset_t none;
	int e;

	/* The recorder ignores these; the program gets the defaults back. */
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	child_place_fds(map, 7);
	execvpe(argv[0], argv, ch->envp);
	e = errno;
	(void)!write(map[0][0], &e, sizeof(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* ==========================================================================
 * 5. THE CONSUMER THREAD (ring -> trace)
 * ========================================================================== */

struct consumer {
	struct shm_ctl *c;
	struct writer *w;
	uint32_t stop;              /* set by the main thread after the ring is closed */
	int corrupt;                /* a record in the ring was not well formed */
	uint64_t records;
	uint64_t prefaulted;        /* ring bytes allocated ahead of the program */
	struct shm_namer namer;     /* the hashes of the unhashed blobs (shm.h) */
};

static uint32_t get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}


#define CONSUMER_IOV 256

/* Write the records batched in @iov straight from the ring, then give their
 * room back to the producers (not before: @iov points into it). */
static void consumer_flush(struct consumer *k, struct iovec *iov, int *n, uint64_t tail)
{
	struct shm_ctl *c = k->c;

	if (*n)
		writer_putv(k->w, iov, *n);
	*n = 0;
	__atomic_store_n(&c->tail, tail, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->prod_sleep, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&c->prod_sleep, 0, __ATOMIC_SEQ_CST);
		shm_futex_wake(&c->prod_sleep);
	}
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Allocate and zero the ring's pages beside the program rather than in its
 * way: otherwise its first lap round the ring allocates and zeroes a page
 * every 4 KiB (once they exist, its own prefault in shim_ring.c maps them at
 * ~0.25 us a page).  Written through our mapping, in the order the program
 * uses them, CONSUMER_PREFAULT bytes at a time, keeping CONSUMER_LEAD bytes
 * ahead of the program's head, and only while the ring is less than half
 * full: taking records out comes first (all 16 MiB at once, before taking
 * any, held the first records back ~16 ms, long enough for the program to
 * fill the ring and wait, and made every recording ~20 ms longer).  Once the
 * head has gone round once, every page is there.  (fallocate would allocate
 * them but leave the zeroing to the first touch, on tmpfs.)  The dedup set
 * is ours alone: its pages come as we fill it.  Best effort: a kernel
 * without MADV_POPULATE_WRITE (< 5.14) leaves the pages to the program. */
#define CONSUMER_PREFAULT (256u << 10)
#define CONSUMER_LEAD     (4u << 20)

static void consumer_prefault(struct consumer *k)
{
	struct shm_ctl *c = k->c;
	uint64_t end = c->ring_size;

	while (k->prefaulted < end && !__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
		uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE), at;

		if (head >= end || head - __atomic_load_n(&c->tail, __ATOMIC_RELAXED) > end / 2) {
			if (head >= end)
				k->prefaulted = end;
			return;
		}
		at = k->prefaulted > head ? k->prefaulted : head & ~(uint64_t)4095;
		if (at >= end || at - head >= CONSUMER_LEAD)
			return;
		k->prefaulted = at + CONSUMER_PREFAULT < end ? at + CONSUMER_PREFAULT : end;
		if (madvise(shm_ring(c) + at, (size_t)(k->prefaulted - at), MADV_POPULATE_WRITE) != 0)
			k->prefaulted = end;
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *consumer_main(void *arg)
{
	struct consumer *k = arg;
	struct shm_ctl *c = k->c;
	const uint8_t *ring = shm_ring(c);
	uint64_t size = c->ring_size, tail = c->tail;
	struct iovec iov[CONSUMER_IOV];
	size_t batched = 0;
	int n = 0;

	uint64_t dirty_since = 0;   /* direct mode: when bytes began waiting in the writer */

	for (;;) {
		/* stop before head: once stop is seen, head is final. */
		uint32_t stop = __atomic_load_n(&k->stop, __ATOMIC_ACQUIRE);
		uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);

		consumer_prefault(k);

		if (head == tail) {
			if (stop)
				break;
			/* Ring empty, and everything taken out of it written - or,
			 * in direct mode, written once it has waited a nap (a block
			 * written partly now is written again when whole): a
			 * recorder killed now leaves a trace up to a recent record.
			 * Nap; producers wake us early when the ring fills
			 * (announce, re-check, wait). */
			if (k->w->dfd >= 0 && k->w->bytes > k->w->flushed) {
				uint64_t t = now_ns();

				if (!dirty_since)
					dirty_since = t;
				else if (t - dirty_since >= SHM_CONSUMER_NAP_MS * 1000000ull) {
					writer_flush(k->w);
					dirty_since = 0;
				}
			}
			__atomic_store_n(&c->cons_sleep, 1, __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&c->head, __ATOMIC_SEQ_CST) == tail &&
			    !__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST))
				shm_futex_wait(&c->cons_sleep, 1, SHM_CONSUMER_NAP_MS);
			__atomic_store_n(&c->cons_sleep, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		while (tail != head) {
			uint64_t pos = tail % size;
			uint32_t len = get32le(ring + pos);

			if (len == 0) {                 /* pad: the record is at the start */
				tail += size - pos;
				continue;
			}
			/* The program can scribble on the mapping: never trust a length.
			 * What came before the damage still goes to the trace. */
			if (len < TORN_REC_FIXED_LEN || len > TORN_REC_MAX || pos + len > size ||
			    tail + len > head) {
				consumer_flush(k, iov, &n, tail);
				batched = 0;
				k->corrupt = 1;
				tail = head;
				break;
			}
			if (!k->corrupt) {
				int keep = 1;

				if (shm_unhashed(ring + pos))
					keep = shm_name(c, &k->namer, (uint8_t *)ring + pos, len,
							record_hash);
				if (keep < 0) {
					consumer_flush(k, iov, &n, tail);
					batched = 0;
					k->corrupt = 1;
					tail = head;
					break;
				}
				if (keep) {
					iov[n++] = (struct iovec){ (void *)(ring + pos), len };
					batched += len;
				}
			}
			k->records++;
			tail += shm_align8(len);
			if (n == CONSUMER_IOV || batched >= WRITER_BUF) {
				consumer_flush(k, iov, &n, tail);
				batched = 0;
			}
		}
		consumer_flush(k, iov, &n, tail);
		batched = 0;
	}
	writer_flush(k->w);
	return NULL;
}

/* ==========================================================================
 * 6. THE MAIN LOOP AND record_run
 * ========================================================================== */

/* Under the shared lock, turn what was written to the marks file and the
 * stdout pipe into marks (stdout bytes also go on to our stdout, the
 * program's real one).  The marks file up to its file position: past a NUL
 * byte, which stops the producers' scans (shm.h, section 5).  @final: the
 * program is gone, a last line without its newline is a mark too. */
static void drain_pipes(struct shm_ctl *c, struct child *ch, int final)
{
	if (shm_lock(c) < 0)
		return;
	if (ch->mark_fd >= 0) {
		off_t end = lseek(ch->mark_fd, 0, SEEK_CUR);
		uint64_t low;

		if (end > 0)
			shm_drain_marks(c, &ch->mark_win, ch->mark_fd,
					(uint64_t)end < SHM_MARK_SPAN ? (uint64_t)end : SHM_MARK_SPAN);
		/* Give back the memory of what every process is done with. */
		low = c->mark_pos & ~(SHM_MARK_WIN - 1);
		if (low > ch->mark_punched &&
		    fallocate(ch->mark_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)ch->mark_punched, (off_t)(low - ch->mark_punched)) == 0)
			ch->mark_punched = low;
	}
	if (ch->out_rd >= 0)
		shm_drain_fd(c, ch->out_rd, STDOUT_FILENO, &c->out_line);
	if (final) {
		struct shm_line *ls[2] = { &c->mark_line, &c->out_line };

		for (int i = 0; i < 2; i++)
			if (ls[i]->len)
				shm_put_mark(c, ls[i]->buf, ls[i]->len, 0, 0);
		/* Nothing goes into the ring after this: END comes next. */
		__atomic_store_n(&c->closed, 1, __ATOMIC_SEQ_CST);
	}
	shm_unlock(c);
}

/* Wait for the program, draining the stdout pipe whenever it has something,
 * so a program that prints a lot never blocks on a full pipe, and the marks
 * file at least every second, so that its memory is given back. */
static int wait_program(struct shm_ctl *c, struct child *ch, int *status)
{
	int pidfd = (int)syscall(SYS_pidfd_open, ch->pid, 0);
	int watch[2] = { -1, ch->out_rd };

	for (;;) {
		struct pollfd p[3];
		int n = 0, drain = 0;
		pid_t r;

		for (int i = 0; i < 2; i++)
			if (watch[i] >= 0)
				p[n++] = (struct pollfd){ .fd = watch[i], .events = POLLIN };
		if (pidfd >= 0)
			p[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		/* Without a pidfd (kernel < 5.3) look at the child every 20 ms. */
		int ready = poll(p, (nfds_t)n, pidfd >= 0 ? 1000 : 20);

		if (ready == 0)
			drain = 1;      /* the marks file, at least every second */
		if (ready > 0) {
			for (int i = 0; i < n; i++) {
				if (p[i].fd == pidfd)
					continue;
				if (p[i].revents & POLLIN)
					drain = 1;
				/* Every writer closed it (the program closed its stdout or
				 * the mark descriptor): stop watching, or poll would spin. */
				else if (p[i].revents & (POLLHUP | POLLERR | POLLNVAL))
					watch[p[i].fd == watch[0] ? 0 : 1] = -1;
			}
		}
		if (drain)
			drain_pipes(c, ch, 0);
		r = waitpid(ch->pid, status, WNOHANG);
		if (r == ch->pid)
			break;
		if (r < 0 && errno != EINTR) {
			int e = errno;
			if (pidfd >= 0)
				close(pidfd);
			return -e;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return 0;
}

static volatile sig_atomic_t g_child;

static void forward_signal(int sig)
{
	int e = errno;

	if (g_child > 0)
		kill((pid_t)g_child, sig);
	errno = e;
}

/* The command line as sh would read it back (arguments with anything but
 * plain characters in single quotes), cut to what a record's text holds. */
static void join_argv(char *const *argv, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; argv[i]; i++) {
		const char *a = argv[i];
		int plain = *a != '\0' && a[strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						  "0123456789_@%+=:,./-")] == '\0';

		if (i && n + 1 < cap)
			out[n++] = ' ';
		if (!plain && n + 1 < cap)
			out[n++] = '\'';
		for (; *a; a++) {
			/* a quote inside single quotes: close, escape it, reopen */
			const char *t = *a == '\'' ? "'\\''" : a;
			size_t tl = *a == '\'' ? 4 : 1;

			if (n + tl + 1 >= cap)
				break;
			memcpy(out + n, t, tl);
			n += tl;
		}
		if (!plain && n + 1 < cap)
			out[n++] = '\'';
	}
	out[n < cap ? n : cap - 1] = '\0';
}

/* Refuse a trace that would be written inside the root it records. */
static int trace_outside_root(const char *trace, const char *root, struct record_error *err)
{
	char *dup = strdup(trace), *slash, dir[PATH_MAX];
	const char *d;
	size_t rl = strlen(root);
	int rc = 0;

	if (!dup)
		return fail(err, 0, -ENOMEM, "out of memory");
	slash = strrchr(dup, '/');
	if (slash == dup)
		d = "/";
	else if (slash) {
		*slash = '\0';
		d = dup;
	} else {
		d = ".";
	}
	if (!realpath(d, dir)) {
		rc = fail(err, 1, -errno, "%s: cannot write the trace there: %s", trace, strerror(errno));
		goto out;
	}
	if (rl == 0 || (!strncmp(dir, root, rl) && (dir[rl] == '\0' || dir[rl] == '/')))
		rc = fail(err, 1, -EINVAL, "%s: the trace must not be inside the recorded root %s",
			  trace, rl ? root : "/");
	/* An existing trace may be a symbolic link into the root. */
	else if (realpath(trace, dir) && !strncmp(dir, root, rl) && dir[rl] == '/')
		rc = fail(err, 1, -EINVAL, "%s: the trace must not be inside the recorded root %s "
			  "(it is a link to %s)", trace, root, dir);
out:
	free(dup);
	return rc;
}

static int fsync_parent(const char *path)
{
	char *dup = strdup(path), *slash;
	int fd = -1, rc = 0;

	if (!dup)
		return -ENOMEM;
	slash = strrchr(dup, '/');
	if (slash == dup)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	fd = open(slash ? dup : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(dup);
	return rc;
}


int record_run(const struct record_opts *o, struct record_result *res, struct record_error *err)
{
	char root[PATH_MAX], *text = NULL;
	struct ctlfile cf = { .path = "", .fd = -1 };
	struct writer w = { .fd = -1, .dfd = -1, .cap = WRITER_BUF };
	struct child ch = { .pid = -1, .ctl_fd = -1, .mark_fd = -1, .out_rd = -1, .out_wr = -1 };
	struct consumer k = { 0 };
	struct snap s = { 0 };
	struct stat st, trace_st;
	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward_signal };
	struct sigaction old[5];
	static const int sigs[5] = { SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGHUP };
	pthread_t thr;
	int thr_started = 0, signals_set = 0, errpipe[2] = { -1, -1 }, dirfd = -1, rc = 0, status = 0;
	uint8_t hdr[TORN_TRACE_HDR_LEN];

	memset(res, 0, sizeof(*res));
	err->bad_input = 0;
	err->msg[0] = '\0';
	if (!o->argv || !o->argv[0])
		return fail(err, 1, -EINVAL, "no command to record");
	if ((rc = record_fault_setup(o, err)) < 0)
		return rc;
	if (!realpath(o->root, root) || stat(root, &st) != 0)
		return fail(err, 1, -errno, "%s: cannot use as the root: %s", o->root, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(err, 1, -ENOTDIR, "%s: the root must be a directory", o->root);
	if (!strcmp(root, "/"))
		root[0] = '\0';          /* paths under "/" are "/" + rel: the root is "" */
	if ((rc = trace_outside_root(o->trace, root, err)) < 0)
		return rc;
	if (access(o->shim, R_OK) != 0)
		return fail(err, 0, -errno, "%s: cannot find the shim: %s", o->shim, strerror(errno));

	w.buf = malloc(WRITER_BUF);
	s.chunk = malloc(TORN_CHUNK);
	s.max_chunks = (TORN_REC_MAX - TORN_REC_FIXED_LEN - TORN_PATH_MAX) / 16u;
	s.hashes = malloc(16u * s.max_chunks);
	text = malloc(TORN_TEXT_MAX + 1);
	if (!w.buf || !s.chunk || !s.hashes || !text) {
		rc = fail(err, 0, -ENOMEM, "out of memory");
		goto out;
	}
	trace_st.st_mode = 0;
	w.fd = open(o->trace, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0 || fstat(w.fd, &trace_st) != 0) {
		rc = fail(err, 1, -errno, "%s: cannot create the trace: %s", o->trace, strerror(errno));
		goto out;
	}
	writer_direct_open(&w, o->trace);
	if ((rc = ctl_create(&cf, root, o->ring_size, o->marks_from_stdout, err)) < 0)
		goto out;

	/* Header, ROOT, then the starting snapshot, all before the program runs. */
	trace_encode_header(hdr, now_ns());
	writer_put(&w, hdr, sizeof(hdr));
	join_argv(o->argv, text, TORN_TEXT_MAX + 1);
	{
		struct torn_event ev = { .type = TORN_EV_ROOT, .pid = (uint32_t)getpid(),
					 .tid = (uint32_t)getpid(), .seq = ++cf.c->seq,
					 .mode = st.st_mode, .ino = st.st_ino,
					 .path2 = root[0] ? root : "/",
					 .path2_len = (uint32_t)(root[0] ? strlen(root) : 1),
					 .text = text, .text_len = (uint32_t)strlen(text) };
		if ((rc = writer_event(&w, &ev)) < 0) {
			rc = fail(err, 0, rc, "%s: cannot encode the root event", o->trace);
			goto out;
		}
	}
	s.w = &w;
	s.c = cf.c;
	s.err = err;
	s.root = root[0] ? root : "";
	s.pid = (uint32_t)getpid();
	s.skip_dev[0] = trace_st.st_dev;
	s.skip_ino[0] = trace_st.st_ino;
	if (fstat(cf.fd, &st) == 0) {
		s.skip_dev[1] = st.st_dev;
		s.skip_ino[1] = st.st_ino;
	}
	dirfd = open(root[0] ? root : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = fail(err, 1, -errno, "%s: cannot open: %s", o->root, strerror(errno));
		goto out;
	}
	rc = snap_dir(&s, dirfd, "");
	dirfd = -1;                          /* snap_dir consumed it */
	if (rc < 0)
		goto out;
	{
		struct torn_event ev = { .type = TORN_EV_INIT_DONE };
		if ((rc = snap_event(&s, &ev)) < 0)
			goto out;
	}
	if (writer_flush(&w) < 0) {
		rc = fail(err, 0, w.err, "%s: cannot write: %s", o->trace, strerror(-w.err));
		goto out;
	}

	/* The marks file: sparse, sealed at its size, one open file description
	 * shared by every process (shm.h, section 5). */
	ch.mark_fd = memfd_create("torn-marks", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (ch.mark_fd < 0 || ftruncate(ch.mark_fd, (off_t)SHM_MARK_SPAN) != 0 ||
	    fcntl(ch.mark_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		rc = fail(err, 0, -errno, "cannot create the marks file: %s", strerror(errno));
		goto out;
	}
	/* The stdout pipe.  Read end non-blocking: the shim and we only ever
	 * drain what is there, under the lock. */
	int op[2] = { -1, -1 };
	if ((o->marks_from_stdout && pipe2(op, O_CLOEXEC) != 0) || pipe2(errpipe, O_CLOEXEC) != 0) {
		rc = fail(err, 0, -errno, "cannot create pipes: %s", strerror(errno));
		goto out;
	}
	ch.out_rd = op[0];
	ch.out_wr = op[1];
	if (ch.out_rd >= 0)
		fcntl(ch.out_rd, F_SETFL, O_NONBLOCK);
	cf.c->mark_rd = SHM_FD_MARK_RD;
	if (o->marks_from_stdout) {
		cf.c->stdout_rd = SHM_FD_STDOUT_RD;
		cf.c->stdout_orig = SHM_FD_STDOUT_ORIG;
	}
	ch.ctl_fd = cf.fd;
	if (child_env(&ch, o->shim) < 0) {
		rc = fail(err, 0, -ENOMEM, "out of memory");
		goto out;
	}

	/* Like system(): a ^C goes to the program; we stay to finish the trace.
	 * SIGPIPE: a closed stdout must not kill us before END is written. */
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &ign, &old[i]);
	signals_set = 3;
	fflush(NULL);
	ch.pid = fork();
	if (ch.pid < 0) {
		rc = fail(err, 0, -errno, "cannot fork: %s", strerror(errno));
		goto out;
	}
	if (ch.pid == 0)
		child_exec(&ch, o->argv, errpipe[1], o->marks_from_stdout);
	/* SIGTERM and SIGHUP (timeout(1), a closed terminal) go on to the
	 * program, and we stay to write the end of its trace. */
	g_child = ch.pid;
	for (int i = 3; i < 5; i++)
		sigaction(sigs[i], &fwd, &old[i]);
	signals_set = 5;
	close(errpipe[1]);
	errpipe[1] = -1;
	if (ch.out_wr >= 0)
		close(ch.out_wr);
	ch.out_wr = -1;

	k.c = cf.c;
	k.w = &w;
	if ((rc = -pthread_create(&thr, NULL, consumer_main, &k)) < 0) {
		fail(err, 0, rc, "cannot start the consumer thread: %s", strerror(-rc));
		kill(ch.pid, SIGKILL);
		waitpid(ch.pid, &status, 0);
		goto out;
	}
	thr_started = 1;

	{
		int e = 0;
		if (robust_read(errpipe[0], &e, sizeof(e)) == (ssize_t)sizeof(e))
			fprintf(stderr, "torn: %s: cannot run: %s\n", o->argv[0], strerror(e));
	}
	rc = wait_program(cf.c, &ch, &status);
	if (rc < 0) {
		fail(err, 0, rc, "cannot wait for the program: %s", strerror(-rc));
		goto out;
	}
	drain_pipes(cf.c, &ch, 1);
	__atomic_store_n(&k.stop, 1, __ATOMIC_SEQ_CST);
	shm_wake_consumer(cf.c);
	pthread_join(thr, NULL);
	thr_started = 0;
	if (k.corrupt) {
		rc = fail(err, 0, -TORN_E_LAYOUT, "%s: the program corrupted the shared ring; "
			  "the trace stops before the damage", o->trace);
		goto out;
	}
	{
		struct torn_event ev = { .type = TORN_EV_END, .pid = (uint32_t)getpid(),
					 .tid = (uint32_t)getpid(), .seq = ++cf.c->seq,
					 .result = status };
		writer_event(&w, &ev);
	}
	res->wait_status = status;
	res->events = cf.c->seq;
	res->blobs = cf.c->blobs;
	res->snapshot_files = s.files;
	res->attached = cf.c->attached;
	if (writer_flush(&w) < 0) {
		rc = fail(err, 0, w.err, "%s: cannot write: %s", o->trace, strerror(-w.err));
		goto out;
	}
	res->bytes = w.bytes;
	/* A trace sent down a pipe or to a device has nothing to make durable. */
	if (!S_ISREG(trace_st.st_mode))
		goto out;
	/* The trace is the product: make it durable before saying it is done. */
	if (fsync(w.fd) != 0) {
		rc = fail(err, 0, -errno, "%s: fsync: %s", o->trace, strerror(errno));
		goto out;
	}
	/* ...and its name: fsync the directory that holds the new entry. */
	rc = fsync_parent(o->trace);
	if (rc < 0) {
		fail(err, 0, rc, "%s: fsync of its directory: %s", o->trace, strerror(-rc));
		goto out;
	}
out:
	if (thr_started) {
		if (cf.c)
			__atomic_store_n(&cf.c->closed, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&k.stop, 1, __ATOMIC_RELEASE);
		pthread_join(thr, NULL);
	}
	for (int i = 0; i < signals_set; i++)
		sigaction(sigs[i], &old[i], NULL);
	g_child = 0;
	for (int i = 0; i < 2; i++)
		if (errpipe[i] >= 0)
			close(errpipe[i]);
	if (dirfd >= 0)
		close(dirfd);
	child_free(&ch);
	ctl_destroy(&cf);
	if (w.dfd >= 0)
		close(w.dfd);
	if (w.fd >= 0)
		close(w.fd);
	/* Failed before the program ran: no trace is better than a stub (only
	 * ever a regular file: -o /dev/full must not unlink the device). */
	if (rc < 0 && ch.pid < 0 && w.fd >= 0 && S_ISREG(trace_st.st_mode))
		unlink(o->trace);
	free(w.buf);
	free(s.chunk);
	free(s.hashes);
	free(text);
	return rc;
}
