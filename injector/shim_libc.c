/*
 * injector/shim_libc.c - libc functions that create or remove files
 * through libc's internal calls (which never reach the wrappers): remove,
 * the mkstemp family, mkdtemp.
 *
 * Sections: 1. remove, 2. mkstemp and its variants, 3. mkdtemp.
 *
 * Without these, a file made by mkstemp (the first half of the classic
 * write-temp-then-rename) would enter the trace only when first written,
 * as an open of a file the trace never saw created, and a remove() would
 * leave the file in the trace for ever.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_int.h"

/* ==========================================================================
 * 1. REMOVE
 * ========================================================================== */

/* remove() is unlink(), or rmdir() for a directory. */
SHIM_EXPORT int remove(const char *path)
{
	struct shim_call c;
	struct torn_event ev = { .type = TORN_EV_UNLINK };
	struct stat st;
	int r;

	if (!shim_begin(&c))
		return SHIM_REAL(remove)(path);
	if (shim_path_resolve(&c.p1, AT_FDCWD, path, 0) < 0 || !c.p1.in) {
		errno = c.errno0;
		return SHIM_REAL(remove)(path);
	}
	if (lstat(c.p1.abs, &st) == 0) {
		ev.ino = st.st_ino;
		if (S_ISDIR(st.st_mode))
			ev.type = TORN_EV_RMDIR;
	}
	shim_lock(&c.lk);
	if (__builtin_expect(shim_faults_on, 0) &&
	    shim_fault_check(&c, "posix/stdio/remove", "remove")) {
		c.ino = ev.ino;
		r = (int)shim_fault_apply(&c, -1);      /* the file stays */
	} else {
		errno = c.errno0;
		r = SHIM_REAL(remove)(path);
	}
	c.err = errno;
	ev.result = r < 0 ? -(int64_t)c.err : r;
	ev.path = shim_path_rel(&c.p1);
	ev.path_len = shim_path_rel_len(&c.p1);
	shim_emit(&ev);
	shim_finish(&c);
	errno = c.err;
	return r;
}

/* ==========================================================================
 * 2. MKSTEMP AND ITS VARIANTS
 * ==========================================================================
 *
 * The name is chosen inside the call; its directory (the template's) says
 * whether it is under the root.  Recorded as an open that created the file
 * (O_RDWR | O_CREAT | O_EXCL and the given flags), under the lock.
 */
enum mkst_kind { MK_S, MK_OS, MK_SS, MK_OSS };

static int mkstemp_impl(enum mkst_kind kind, void *real, char *tmpl, int suffixlen, int flags)
{
	struct shim_call c;
	int fd;

#define MK_CALL                                                                            \
	(kind == MK_S   ? ((int (*)(char *))real)(tmpl) :                                  \
	 kind == MK_OS  ? ((int (*)(char *, int))real)(tmpl, flags) :                      \
	 kind == MK_SS  ? ((int (*)(char *, int))real)(tmpl, suffixlen) :                  \
			  ((int (*)(char *, int, int))real)(tmpl, suffixlen, flags))

	if (!shim_begin(&c))
		return MK_CALL;
	if (shim_path_resolve(&c.p1, AT_FDCWD, tmpl, 0) < 0 || !c.p1.in) {
		errno = c.errno0;
		return MK_CALL;
	}
	shim_lock(&c.lk);
	if (__builtin_expect(shim_faults_on, 0) &&
	    shim_fault_check(&c, "posix/io/oc/mkstemp", "mkstemp")) {
		c.ino = 0;
		fd = (int)shim_fault_apply(&c, -1);     /* no file made */
	} else {
		errno = c.errno0;
		fd = MK_CALL;
	}
	c.err = errno;
	if (fd >= 0 && fd < SHIM_FD_MAX && shim_path_fd(&c.p2, fd) == 0 && c.p2.in)
		shim_fd_open(fd, &c.p2, O_RDWR | O_CREAT | O_EXCL | flags, TORN_F_CREATED);
	shim_finish(&c);
	if (fd >= SHIM_FD_MAX)
		shim_fd_too_high(fd);
	errno = c.err;
	return fd;
#undef MK_CALL
}

SHIM_EXPORT int mkstemp(char *tmpl)
{
	return mkstemp_impl(MK_S, (void *)SHIM_REAL(mkstemp), tmpl, 0, 0);
}

SHIM_EXPORT int mkstemp64(char *tmpl)
{
	return mkstemp_impl(MK_S, (void *)SHIM_REAL(mkstemp64), tmpl, 0, 0);
}

SHIM_EXPORT int mkostemp(char *tmpl, int flags)
{
	return mkstemp_impl(MK_OS, (void *)SHIM_REAL(mkostemp), tmpl, 0, flags);
}

SHIM_EXPORT int mkostemp64(char *tmpl, int flags)
{
	return mkstemp_impl(MK_OS, (void *)SHIM_REAL(mkostemp64), tmpl, 0, flags);
}

SHIM_EXPORT int mkstemps(char *tmpl, int suffixlen)
{
	return mkstemp_impl(MK_SS, (void *)SHIM_REAL(mkstemps), tmpl, suffixlen, 0);
}

SHIM_EXPORT int mkstemps64(char *tmpl, int suffixlen)
{
	return mkstemp_impl(MK_SS, (void *)SHIM_REAL(mkstemps64), tmpl, suffixlen, 0);
}

SHIM_EXPORT int mkostemps(char *tmpl, int suffixlen, int flags)
{
	return mkstemp_impl(MK_OSS, (void *)SHIM_REAL(mkostemps), tmpl, suffixlen, flags);
}

SHIM_EXPORT int mkostemps64(char *tmpl, int suffixlen, int flags)
{
	return mkstemp_impl(MK_OSS, (void *)SHIM_REAL(mkostemps64), tmpl, suffixlen, flags);
}

/* ==========================================================================
 * 3. MKDTEMP
 * ========================================================================== */

SHIM_EXPORT char *mkdtemp(char *tmpl)
{
	struct shim_call c;
	struct torn_event ev = { .type = TORN_EV_MKDIR };
	struct stat st;
	char *r;

	if (!shim_begin(&c))
		return SHIM_REAL(mkdtemp)(tmpl);
	if (shim_path_resolve(&c.p1, AT_FDCWD, tmpl, 0) < 0 || !c.p1.in) {
		errno = c.errno0;
		return SHIM_REAL(mkdtemp)(tmpl);
	}
	shim_lock(&c.lk);
	if (__builtin_expect(shim_faults_on, 0) &&
	    shim_fault_check(&c, "posix/io/dir/mkdtemp", "mkdtemp")) {
		c.ino = 0;
		(void)shim_fault_apply(&c, -1);         /* no directory made */
		r = NULL;
	} else {
		errno = c.errno0;
		r = SHIM_REAL(mkdtemp)(tmpl);
	}
	c.err = errno;
	if (r && shim_path_resolve(&c.p2, AT_FDCWD, r, 0) == 0 && c.p2.in) {
		if (lstat(c.p2.abs, &st) == 0) {
			ev.ino = st.st_ino;
			ev.mode = st.st_mode;
		}
		ev.path = shim_path_rel(&c.p2);
		ev.path_len = shim_path_rel_len(&c.p2);
		shim_emit(&ev);
	}
	shim_finish(&c);
	errno = c.err;
	return r;
}
