/*
 * recovery/trace_read.c - the trace reader (section 5 of include/torn/trace.h).
 *
 * trace_open() maps the file read-only and walks every record once, checking
 * validity rules 1-6 of the format.  What it keeps is proportional to the
 * number of distinct blobs and handles, never to the size of the trace: the
 * records themselves stay in the mapping and are decoded again on demand.
 *
 * Sections:
 *   1. The object and its two hash indexes (blobs by hash, handles)
 *   2. Error messages ("FILE: record N at offset O: what")
 *   3. The validating walk (trace_open / trace_close)
 *   4. Iteration and content (trace_next, trace_blob, trace_content)
 *   5. Accessors
 *
 * Records are numbered from 0 in file order, blobs included; the same
 * numbering is used by every message of the reader and of trace_rebuild().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torn/trace.h"

/* ==========================================================================
 * 1. The object and its indexes
 * ========================================================================== */

/* Open addressing, linear probing, power-of-two capacity, load <= 1/2. */
struct blob_slot {
	torn_hash h;
	uint64_t off;      /* offset of the blob's data in the mapping; 0 = empty slot */
	uint32_t len;
};

struct torn_trace {
	char          *path;
	const uint8_t *map;
	size_t         size;          /* bytes of the file */
	uint64_t       end;           /* offset just after the last whole record */
	uint64_t       nrecords;      /* whole records, blobs included */
	uint64_t       nevents;       /* records other than blobs */
	uint64_t       last_seq;
	int            complete;      /* last record is TORN_EV_END */
	char          *root;          /* path2 of TORN_EV_ROOT, NUL-terminated ("" if none) */

	struct blob_slot *blobs;
	size_t            blob_cap, blob_n;
	uint64_t         *handles;    /* 0 = empty slot (handle 0 means "none") */
	size_t            handle_cap, handle_n;
};

static size_t blob_home(torn_hash h, size_t cap)
{
	return (size_t)(h.lo ^ (h.hi * 0x9e3779b97f4a7c15ull)) & (cap - 1);
}

static const struct blob_slot *blob_find(const struct torn_trace *t, torn_hash h)
{
	size_t i;

	if (!t->blob_cap)
		return NULL;
	for (i = blob_home(h, t->blob_cap);; i = (i + 1) & (t->blob_cap - 1)) {
		const struct blob_slot *s = &t->blobs[i];
		if (!s->off)
			return NULL;
		if (s->h.lo == h.lo && s->h.hi == h.hi)
			return s;
	}
}

static int blob_grow(struct torn_trace *t)
{
	size_t cap = t->blob_cap ? t->blob_cap * 2 : 1024, i, j;
	struct blob_slot *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (i = 0; i < t->blob_cap; i++) {
		if (!t->blobs[i].off)
			continue;
		for (j = blob_home(t->blobs[i].h, cap); n[j].off; j = (j + 1) & (cap - 1))
			;
		n[j] = t->blobs[i];
	}
	free(t->blobs);
	t->blobs = n;
	t->blob_cap = cap;
	return 0;
}

/* Index a blob; a second blob with the same hash keeps the first. */
static int blob_add(struct torn_trace *t, torn_hash h, uint64_t off, uint32_t len)
{
	size_t i;
	int r;

	if (blob_find(t, h))
		return 0;
	if ((t->blob_n + 1) * 2 > t->blob_cap && (r = blob_grow(t)) < 0)
		return r;
	for (i = blob_home(h, t->blob_cap); t->blobs[i].off; i = (i + 1) & (t->blob_cap - 1))
		;
	t->blobs[i].h = h;
	t->blobs[i].off = off;
	t->blobs[i].len = len;
	t->blob_n++;
	return 0;
}

static size_t handle_home(uint64_t h, size_t cap)
{
	return (size_t)((h * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static int handle_known(const struct torn_trace *t, uint64_t h)
{
	size_t i;

	if (!t->handle_cap)
		return 0;
	for (i = handle_home(h, t->handle_cap);; i = (i + 1) & (t->handle_cap - 1)) {
		if (!t->handles[i])
			return 0;
		if (t->handles[i] == h)
			return 1;
	}
}

static int handle_add(struct torn_trace *t, uint64_t h)
{
	size_t i, j;

	if (!h || handle_known(t, h))
		return 0;
	if ((t->handle_n + 1) * 2 > t->handle_cap) {
		size_t cap = t->handle_cap ? t->handle_cap * 2 : 256;
		uint64_t *n = calloc(cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (i = 0; i < t->handle_cap; i++) {
			if (!t->handles[i])
				continue;
			for (j = handle_home(t->handles[i], cap); n[j]; j = (j + 1) & (cap - 1))
				;
			n[j] = t->handles[i];
		}
		free(t->handles);
		t->handles = n;
		t->handle_cap = cap;
	}
	for (i = handle_home(h, t->handle_cap); t->handles[i]; i = (i + 1) & (t->handle_cap - 1))
		;
	t->handles[i] = h;
	t->handle_n++;
	return 0;
}

/* ==========================================================================
 * 2. Error messages
 * ========================================================================== */

static int fail(struct trace_error *err, const char *file, int code, uint64_t rec,
		uint64_t off, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Fill @err: "FILE: record N at offset O: what" (or "FILE: what" when
 * rec == UINT64_MAX, for the file itself and its header). */
static int fail(struct trace_error *err, const char *file, int code, uint64_t rec,
		uint64_t off, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err) {
		err->code = code;
		err->record = rec;
		err->offset = off;
		if (rec == UINT64_MAX)
			snprintf(err->msg, sizeof(err->msg), "%s: %s", file, what);
		else
			snprintf(err->msg, sizeof(err->msg), "%s: record %llu at offset %llu: %s",
				 file, (unsigned long long)rec, (unsigned long long)off, what);
	}
	return code;
}

/* ==========================================================================
 * 3. The validating walk
 * ========================================================================== */

/* Does this record type name a handle that must have been opened? */
static int uses_handle(unsigned type)
{
	switch (type) {
	case TORN_EV_CLOSE: case TORN_EV_SETFL: case TORN_EV_WRITE: case TORN_EV_FSYNC:
	case TORN_EV_SYNC_RANGE: case TORN_EV_SYNCFS: case TORN_EV_TRUNCATE:
	case TORN_EV_FALLOCATE: case TORN_EV_MMAP: case TORN_EV_MSYNC:
	case TORN_EV_URING_SUBMIT:
		return 1;
	}
	return 0;
}

/* Check one decoded record against rule 6 and the content sizes, and index
 * what it carries.  @n and @off locate it for messages. */
static int check_record(struct torn_trace *t, const struct torn_event *ev, uint64_t off,
			uint64_t n, struct trace_error *err)
{
	uint64_t total = 0;
	uint32_t i;
	int r;

	if (ev->type == TORN_REC_BLOB) {
		torn_hash h = trace_chunk(ev, 0), got = trace_hash(ev->data, ev->data_len);

		if (h.lo != got.lo || h.hi != got.hi)
			return fail(err, t->path, -TORN_E_CHECKSUM, n, off,
				    "blob bytes do not match their content hash");
		r = blob_add(t, h, (uint64_t)(ev->data - t->map), ev->data_len);
		if (r < 0)
			return fail(err, t->path, r, n, off, "%s", strerror(-r));
		return 0;
	}

	if (ev->seq <= t->last_seq)
		return fail(err, t->path, -TORN_E_SEQ, n, off,
			    "%s: seq %llu does not follow seq %llu", trace_type_name(ev->type),
			    (unsigned long long)ev->seq, (unsigned long long)t->last_seq);
	t->last_seq = ev->seq;

	for (i = 0; i < ev->nchunks; i++) {
		const struct blob_slot *b = blob_find(t, trace_chunk(ev, i));

		if (!b) {
			torn_hash h = trace_chunk(ev, i);
			return fail(err, t->path, -TORN_E_NOBLOB, n, off,
				    "%s: chunk %u (hash %016llx%016llx) has no earlier blob",
				    trace_type_name(ev->type), i, (unsigned long long)h.hi,
				    (unsigned long long)h.lo);
		}
		total += b->len;
	}
	/* The content must be exactly as long as the event says, or a rebuild
	 * would silently write the wrong number of bytes. */
	if ((ev->type == TORN_EV_WRITE && ev->result >= 0 && total != (uint64_t)ev->result) ||
	    ((ev->type == TORN_EV_INIT_FILE || ev->type == TORN_EV_IMPORT) &&
	     total != (uint64_t)ev->len))
		return fail(err, t->path, -TORN_E_LAYOUT, n, off,
			    "%s: content is %llu bytes but the event says %lld",
			    trace_type_name(ev->type), (unsigned long long)total,
			    (long long)(ev->type == TORN_EV_WRITE ? ev->result : ev->len));

	if (ev->type == TORN_EV_OPEN && ev->result >= 0) {
		if ((r = handle_add(t, ev->handle)) < 0)
			return fail(err, t->path, r, n, off, "%s", strerror(-r));
	} else if (ev->handle && uses_handle(ev->type) && !handle_known(t, ev->handle)) {
		return fail(err, t->path, -TORN_E_HANDLE, n, off,
			    "%s: handle %llu was never opened", trace_type_name(ev->type),
			    (unsigned long long)ev->handle);
	}

	if (ev->type == TORN_EV_ROOT && !t->root[0]) {
		char *root = strndup(ev->path2, ev->path2_len);

		if (!root)
			return fail(err, t->path, -ENOMEM, n, off, "out of memory");
		free(t->root);
		t->root = root;
	}
	t->nevents++;
	return 0;
}

/* Is everything from @p to the end of the file zero?  A file system may
 * leave a zero-filled end after a power loss (the size was made durable,
 * the data was not) or a writer may have extended the file before filling
 * it; a length of 0 is never a record, so such an end is a cut-short tail,
 * not corruption. */
static int zero_tail(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* What the codec refused in the record at @p (@avail bytes readable), with
 * the numbers that make it checkable by hand. */
static void decode_what(long code, const uint8_t *p, size_t avail, char *buf, size_t len)
{
	uint32_t rlen = avail >= 4 ? (uint32_t)p[0] | (uint32_t)p[1] << 8 |
				     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
	unsigned type = avail >= 6 ? (unsigned)(p[4] | p[5] << 8) : 0;

	switch (-code) {
	case TORN_E_RECLEN:
		snprintf(buf, len, "record length %u out of range (%u..%u)", rlen,
			 TORN_REC_FIXED_LEN, (unsigned)TORN_REC_MAX);
		break;
	case TORN_E_CHECKSUM:
		snprintf(buf, len, "record checksum mismatch (the record is corrupt)");
		break;
	case TORN_E_LAYOUT:
		snprintf(buf, len, "%s record of %u bytes: its length fields do not add up",
			 trace_type_name(type) ? trace_type_name(type) : "a", rlen);
		break;
	case TORN_E_TYPE:
		snprintf(buf, len, "unknown record type %u", type);
		break;
	case TORN_E_PATH:
		snprintf(buf, len, "%s: malformed path or path escaping the root",
			 trace_type_name(type) ? trace_type_name(type) : "record");
		break;
	default:
		snprintf(buf, len, "%s", torn_strerror((int)code));
	}
}

int trace_open(const char *path, struct torn_trace **out, struct trace_error *err)
{
	struct torn_trace *t = NULL;
	struct stat st;
	uint64_t pos;
	int fd = -1, r;
	unsigned last_type = 0;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	t = calloc(1, sizeof(*t));
	if (!t || !(t->path = strdup(path)) || !(t->root = strdup(""))) {
		r = fail(err, path, -ENOMEM, UINT64_MAX, 0, "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		r = fail(err, path, r, UINT64_MAX, 0, "cannot open: %s", strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = fail(err, path, -EINVAL, UINT64_MAX, 0, "not a regular file");
		goto out;
	}
	t->size = (size_t)st.st_size;
	if (t->size < TORN_TRACE_HDR_LEN) {
		/* Too short for a header: a trace cut inside its header is not a
		 * trace we can read anything from. */
		char head[8] = { 0 };
		ssize_t got = t->size ? pread(fd, head, t->size < 8 ? t->size : 8, 0) : 0;

		if (got > 0 && memcmp(head, TORN_TRACE_MAGIC, (size_t)got) == 0)
			r = fail(err, path, -TORN_E_MAGIC, UINT64_MAX, 0,
				 "file header cut short (%zu of %u bytes)", t->size,
				 TORN_TRACE_HDR_LEN);
		else
			r = fail(err, path, -TORN_E_MAGIC, UINT64_MAX, 0,
				 "not a torn trace (%zu bytes, no header)", t->size);
		goto out;
	}
	t->map = mmap(NULL, t->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (t->map == MAP_FAILED) {
		t->map = NULL;
		r = -errno;
		r = fail(err, path, r, UINT64_MAX, 0, "cannot map: %s", strerror(-r));
		goto out;
	}
	/* The walk reads the whole file once, front to back. */
	(void)madvise((void *)t->map, t->size, MADV_SEQUENTIAL);

	r = trace_check_header(t->map, t->size);
	if (r < 0) {
		r = fail(err, path, r, UINT64_MAX, 0, "file header: %s", torn_strerror(r));
		goto out;
	}

	for (pos = TORN_TRACE_HDR_LEN; pos < t->size;) {
		struct torn_event ev;
		long n = trace_decode(t->map + pos, t->size - pos, &ev);

		if (n == 0)
			break;                  /* the cut-short tail (rule 2) */
		if (n == -TORN_E_RECLEN && zero_tail(t->map + pos, t->size - pos))
			break;                  /* zeros where records were due: a tail too */
		if (n < 0) {
			char what[160];

			decode_what(n, t->map + pos, t->size - pos, what, sizeof(what));
			r = fail(err, path, (int)n, t->nrecords, pos, "%s", what);
			goto out;
		}
		r = check_record(t, &ev, pos, t->nrecords, err);
		if (r < 0)
			goto out;
		last_type = ev.type;
		t->nrecords++;
		pos += (uint64_t)n;
	}
	t->end = pos;
	t->complete = last_type == TORN_EV_END;
	(void)madvise((void *)t->map, t->size, MADV_NORMAL);
	*out = t;
	t = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	trace_close(t);
	return r;
}

void trace_close(struct torn_trace *t)
{
	if (!t)
		return;
	if (t->map)
		munmap((void *)t->map, t->size);
	free(t->blobs);
	free(t->handles);
	free(t->root);
	free(t->path);
	free(t);
}

/* ==========================================================================
 * 4. Iteration and content
 * ========================================================================== */

int trace_next(const struct torn_trace *t, uint64_t *pos, struct torn_event *ev)
{
	long n;

	if (*pos < TORN_TRACE_HDR_LEN)
		*pos = TORN_TRACE_HDR_LEN;
	if (*pos >= t->end)
		return 0;
	/* Already validated by trace_open: this cannot fail unless the file
	 * changed under the mapping, which ends the iteration. */
	n = trace_decode(t->map + *pos, t->end - *pos, ev);
	if (n <= 0)
		return 0;
	*pos += (uint64_t)n;
	return 1;
}

const uint8_t *trace_blob(const struct torn_trace *t, torn_hash h, uint32_t *len)
{
	const struct blob_slot *b = blob_find(t, h);

	if (!b)
		return NULL;
	if (len)
		*len = b->len;
	return t->map + b->off;
}

int trace_content(const struct torn_trace *t, const struct torn_event *ev,
		  uint64_t from, void *dst, size_t len)
{
	uint8_t *d = dst;
	uint64_t at = 0;       /* content offset where chunk i starts */
	uint32_t i;

	for (i = 0; i < ev->nchunks && len; i++) {
		uint32_t blen;
		const uint8_t *b = trace_blob(t, trace_chunk(ev, i), &blen);

		if (!b)
			return -TORN_E_NOBLOB;
		if (from < at + blen) {
			uint64_t in = from - at;
			size_t n = (size_t)(blen - in) < len ? (size_t)(blen - in) : len;

			memcpy(d, b + in, n);
			d += n;
			from += n;
			len -= n;
		}
		at += blen;
	}
	return len ? -ERANGE : 0;   /* asked for bytes past the end of the content */
}

/* ==========================================================================
 * 5. Accessors
 * ========================================================================== */

const char *trace_path(const struct torn_trace *t) { return t->path; }
const char *trace_root(const struct torn_trace *t) { return t->root; }
int trace_truncated(const struct torn_trace *t) { return !t->complete; }
uint64_t trace_tail_bytes(const struct torn_trace *t) { return t->size - t->end; }
uint64_t trace_nevents(const struct torn_trace *t) { return t->nevents; }
uint64_t trace_last_seq(const struct torn_trace *t) { return t->last_seq; }
