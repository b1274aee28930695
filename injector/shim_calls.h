/*
 * injector/shim_calls.h - the table of interposed calls.
 *
 * One line per call the shim interposes, in the manner of libfiu's
 * preload/posix/ modules and SQLite's aSyscall[]:
 *
 *   P(ret, name, (params), (args), error value, errnos, "failure point")  plain
 *   H(ret, name, (params),          error value, errnos, "failure point")  by hand
 *
 * P lines get their whole wrapper generated in shim.c (SHIM_GEN_PLAIN): it
 * passes through unless pre_NAME() says the call concerns the root, then
 * runs the real call, and post_NAME() records it.  H lines are written by
 * hand (variadic calls, exec, stdio, ...) beside the table; for them the
 * table only declares the pointer to the real function.  Every line
 * declares `shim_real_NAME`, resolved with dlsym(RTLD_NEXT) by the
 * constructor, or lazily by the first wrapper that runs before it.
 *
 * errnos (a SHIM_E_* list, or (0) for a call that cannot fail) are the
 * errors the call may return, from its man page: a fault injected into it
 * picks one of them, as libfiu's preload does.
 *
 * The failure point is the name libfiu's POSIX preload gives the call
 * (posix/io/rw/write, posix/io/sync/fsync, linux/io/sync_file_range, ...,
 * checked against libfiu 1.1's preload/posix modules); calls libfiu does
 * not cover get a name in the same scheme (marked "torn:" in the comment).
 * Faults are injected (injector/shim_fault.c) by every P line's generated
 * wrapper and by the H wrappers named in SHIM_FAULT_HAND below; the points
 * `torn faults --list` shows are built from this table (fault_spec.c), so
 * the list and the wrappers come from one source.
 *
 * Sections: 1. descriptors, 2. data, 3. durability, 4. sizes,
 * 5. namespace, 6. processes, 7. mappings, 8. stdio, 9. io_uring (liburing).
 *
 * Not seen, by design or not yet (a program relying on these is recorded
 * incompletely):
 *   - system calls made without libc's exported functions: syscall(2),
 *     inline `syscall` instructions, statically linked programs;
 *   - io_uring without liburing's exported functions (raw io_uring_enter,
 *     a static liburing, SQPOLL rings: TORN_EV_UNSUPPORTED), Linux AIO (io_submit) and
 *     POSIX AIO (aio_write: glibc's helper threads call pwrite inside libc);
 *   - openat2 (no glibc wrapper in 2.36),
 *     fexecve, vfork's own event (its child's exec is seen);
 *   - mknod/mkfifo (special files are not modelled), chmod, chown, utimes
 *     and extended attributes (metadata is not modelled);
 *   - stores through a shared writable mapping (recorded as TORN_EV_MMAP /
 *     TORN_EV_MSYNC: reported, never modelled);
 *   - descriptors numbered 65536 and above (one TORN_EV_UNSUPPORTED note).
 */
#ifndef TORN_INJECTOR_SHIM_CALLS_H
#define TORN_INJECTOR_SHIM_CALLS_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/types.h>

/* liburing's types, for section 9 (shim_uring.c includes liburing.h). */
struct io_uring;
struct io_uring_params;
struct io_uring_cqe;
struct __kernel_timespec;

/* The errnos a call may fail with (its man page), for fault injection. */
#define SHIM_E_OPEN (EACCES, EDQUOT, EEXIST, EINTR, EISDIR, ELOOP, EMFILE, \
	ENAMETOOLONG, ENFILE, ENOENT, ENOMEM, ENOSPC, ENOTDIR, EROFS)
#define SHIM_E_WRITE (EAGAIN, EBADF, EDQUOT, EFBIG, EINTR, EINVAL, EIO, ENOSPC, EPERM, \
	EPIPE)
#define SHIM_E_WRITE2 (EAGAIN, EBADF, EDQUOT, EFBIG, EINTR, EINVAL, EIO, ENOSPC, EPERM, \
	EPIPE, EOPNOTSUPP)
#define SHIM_E_READ (EAGAIN, EBADF, EINTR, EINVAL, EIO, EISDIR)
#define SHIM_E_EXEC (E2BIG, EACCES, EINVAL, EIO, ELOOP, ENAMETOOLONG, ENOENT, ENOEXEC, \
	ENOMEM, ENOTDIR, ETXTBSY)
#define SHIM_E_SPAWN (EAGAIN, E2BIG, EACCES, EINVAL, EIO, ELOOP, ENAMETOOLONG, ENOENT, \
	ENOEXEC, ENOMEM, ENOTDIR, ETXTBSY)
#define SHIM_E_STDIO_W (EAGAIN, EBADF, EDQUOT, EFBIG, EINTR, EIO, ENOSPC, EPIPE)
#define SHIM_E_FOPEN (EACCES, EINTR, EINVAL, EISDIR, ELOOP, EMFILE, ENAMETOOLONG, \
	ENFILE, ENOENT, ENOMEM, ENOSPC, ENOTDIR, EROFS)
#define SHIM_E_RENAME (EACCES, EBUSY, EDQUOT, EEXIST, EINVAL, EISDIR, ELOOP, EMLINK, \
	ENAMETOOLONG, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, EPERM, EROFS, EXDEV)
#define SHIM_E_UNLINK (EACCES, EBUSY, EIO, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, \
	ENOTDIR, EPERM, EROFS)
#define SHIM_E_RMDIR (EACCES, EBUSY, EINVAL, EIO, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, \
	ENOTEMPTY, EPERM, EROFS)
#define SHIM_E_LINK (EACCES, EDQUOT, EEXIST, EIO, ELOOP, EMLINK, ENAMETOOLONG, ENOENT, \
	ENOSPC, ENOTDIR, EPERM, EROFS, EXDEV)
#define SHIM_E_SYMLINK (EACCES, EDQUOT, EEXIST, EIO, ELOOP, ENAMETOOLONG, ENOENT, \
	ENOSPC, ENOTDIR, EPERM, EROFS)
#define SHIM_E_MKDIR (EACCES, EDQUOT, EEXIST, ELOOP, EMLINK, ENAMETOOLONG, ENOENT, \
	ENOSPC, ENOTDIR, EPERM, EROFS)
#define SHIM_E_TRUNCATE (EACCES, EFBIG, EINTR, EINVAL, EIO, EISDIR, ELOOP, \
	ENAMETOOLONG, ENOENT, ENOTDIR, EPERM, EROFS, ETXTBSY)
#define SHIM_E_FALLOCATE (EBADF, EFBIG, EINTR, EINVAL, EIO, ENODEV, ENOSPC, EOPNOTSUPP, \
	EPERM, ESPIPE, ETXTBSY)
#define SHIM_E_COPY (EBADF, EFBIG, EINVAL, EIO, EISDIR, ENOMEM, ENOSPC, EOPNOTSUPP, \
	EXDEV)

#define SHIM_CALLS(P, H)                                                                  \
	/* 1. descriptors */                                                              \
	H(int, open, (const char *path, int flags, ...), -1, SHIM_E_OPEN,                 \
	  "posix/io/oc/open")                                                             \
	H(int, open64, (const char *path, int flags, ...), -1, SHIM_E_OPEN,               \
	  "posix/io/oc/open")                                                             \
	H(int, openat, (int dirfd, const char *path, int flags, ...), -1, SHIM_E_OPEN,    \
	  "posix/io/oc/open")                                                             \
	H(int, openat64, (int dirfd, const char *path, int flags, ...), -1,               \
	  SHIM_E_OPEN, "posix/io/oc/open")                                                \
	H(int, __open_2, (const char *path, int flags), -1, SHIM_E_OPEN,                  \
	  "posix/io/oc/open")                                                             \
	H(int, __open64_2, (const char *path, int flags), -1, SHIM_E_OPEN,                \
	  "posix/io/oc/open")                                                             \
	H(int, __openat_2, (int dirfd, const char *path, int flags), -1, SHIM_E_OPEN,     \
	  "posix/io/oc/open")                                                             \
	H(int, __openat64_2, (int dirfd, const char *path, int flags), -1,                \
	  SHIM_E_OPEN, "posix/io/oc/open")                                                \
	H(int, creat, (const char *path, mode_t mode), -1, SHIM_E_OPEN,                   \
	  "posix/io/oc/open")                                                             \
	H(int, creat64, (const char *path, mode_t mode), -1, SHIM_E_OPEN,                 \
	  "posix/io/oc/open")                                                             \
	H(int, close, (int fd), -1, (EBADF, EINTR, EIO), "posix/io/oc/close")             \
	H(int, close_range, (unsigned first, unsigned last, int flags), -1,               \
	  (EINVAL, ENOMEM), "posix/io/oc/close_range" /* torn: */)                        \
	H(void, closefrom, (int lowfd), 0, (0), "posix/io/oc/closefrom" /* torn: */)      \
	H(int, dup, (int fd), -1, (EBADF, EMFILE), "posix/io/oc/dup" /* torn: */)         \
	H(int, dup2, (int fd, int fd2), -1, (EBADF, EBUSY, EINTR, EINVAL, EMFILE),        \
	  "posix/io/oc/dup2" /* torn: */)                                                 \
	H(int, dup3, (int fd, int fd2, int flags), -1,                                    \
	  (EBADF, EBUSY, EINTR, EINVAL, EMFILE), "posix/io/oc/dup3" /* torn: */)          \
	H(int, fcntl, (int fd, int cmd, ...), -1,                                         \
	  (EACCES, EAGAIN, EBADF, EINTR, EINVAL, EMFILE, EPERM),                          \
	  "posix/io/oc/fcntl" /* torn: */)                                                \
	H(int, fcntl64, (int fd, int cmd, ...), -1,                                       \
	  (EACCES, EAGAIN, EBADF, EINTR, EINVAL, EMFILE, EPERM),                          \
	  "posix/io/oc/fcntl" /* torn: */)                                                \
	H(int, closedir, (DIR *d), -1, (EBADF), "posix/io/dir/closedir")                  \
	/* 2. data */                                                                     \
	P(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n), -1,          \
	  SHIM_E_WRITE, "posix/io/rw/write")                                              \
	P(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off),                \
	  (fd, buf, n, off), -1, SHIM_E_WRITE, "posix/io/rw/pwrite")                      \
	P(ssize_t, pwrite64, (int fd, const void *buf, size_t n, off64_t off),            \
	  (fd, buf, n, off), -1, SHIM_E_WRITE, "posix/io/rw/pwrite")                      \
	P(ssize_t, writev, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt),    \
	  -1, SHIM_E_WRITE, "posix/io/rw/writev")                                         \
	P(ssize_t, pwritev, (int fd, const struct iovec *iov, int cnt, off_t off),        \
	  (fd, iov, cnt, off), -1, SHIM_E_WRITE, "posix/io/rw/pwritev")                   \
	P(ssize_t, pwritev64, (int fd, const struct iovec *iov, int cnt, off64_t off),    \
	  (fd, iov, cnt, off), -1, SHIM_E_WRITE, "posix/io/rw/pwritev")                   \
	P(ssize_t, pwritev2,                                                              \
	  (int fd, const struct iovec *iov, int cnt, off_t off, int flags),               \
	  (fd, iov, cnt, off, flags), -1, SHIM_E_WRITE2,                                  \
	  "posix/io/rw/pwritev2" /* torn: */)                                             \
	P(ssize_t, pwritev64v2,                                                           \
	  (int fd, const struct iovec *iov, int cnt, off64_t off, int flags),             \
	  (fd, iov, cnt, off, flags), -1, SHIM_E_WRITE2,                                  \
	  "posix/io/rw/pwritev2" /* torn: */)                                             \
	/* reads: not recorded, interposed for faults only (shim_read.c) */            \
	H(ssize_t, read, (int fd, void *buf, size_t n), -1, SHIM_E_READ,                  \
	  "posix/io/rw/read")                                                             \
	H(ssize_t, __read_chk, (int fd, void *buf, size_t n, size_t cap), -1,             \
	  SHIM_E_READ, "posix/io/rw/read")                                                \
	H(ssize_t, pread, (int fd, void *buf, size_t n, off_t off), -1, SHIM_E_READ,      \
	  "posix/io/rw/pread")                                                            \
	H(ssize_t, pread64, (int fd, void *buf, size_t n, off64_t off), -1, SHIM_E_READ,  \
	  "posix/io/rw/pread")                                                            \
	H(ssize_t, __pread_chk, (int fd, void *buf, size_t n, off_t off, size_t cap), -1, \
	  SHIM_E_READ, "posix/io/rw/pread")                                               \
	H(ssize_t, __pread64_chk, (int fd, void *buf, size_t n, off64_t off, size_t cap), \
	  -1, SHIM_E_READ, "posix/io/rw/pread")                                           \
	H(ssize_t, readv, (int fd, const struct iovec *iov, int cnt), -1, SHIM_E_READ,    \
	  "posix/io/rw/readv")                                                            \
	H(ssize_t, preadv, (int fd, const struct iovec *iov, int cnt, off_t off), -1,     \
	  SHIM_E_READ, "posix/io/rw/preadv")                                              \
	H(ssize_t, preadv64, (int fd, const struct iovec *iov, int cnt, off64_t off), -1, \
	  SHIM_E_READ, "posix/io/rw/preadv")                                              \
	H(ssize_t, copy_file_range,                                                       \
	  (int fdin, off64_t *offin, int fdout, off64_t *offout, size_t len, unsigned int flags), \
	  -1, SHIM_E_COPY, "posix/io/rw/copy_file_range" /* torn: */)                     \
	H(ssize_t, sendfile, (int out, int in, off_t *off, size_t n), -1,                 \
	  (EAGAIN, EBADF, EINVAL, EIO, ENOMEM, EOVERFLOW, ESPIPE),                        \
	  "posix/io/rw/sendfile" /* torn: */)                                             \
	H(ssize_t, sendfile64, (int out, int in, off64_t *off, size_t n), -1,             \
	  (EAGAIN, EBADF, EINVAL, EIO, ENOMEM, EOVERFLOW, ESPIPE),                        \
	  "posix/io/rw/sendfile" /* torn: */)                                             \
	H(ssize_t, splice,                                                                \
	  (int fdin, off64_t *offin, int fdout, off64_t *offout, size_t len, unsigned int flags), \
	  -1, (EAGAIN, EBADF, EINVAL, ENOMEM, ESPIPE),                                    \
	  "posix/io/rw/splice" /* torn: */)                                               \
	H(int, ioctl, (int fd, unsigned long req, ...), -1,                               \
	  (EBADF, EINVAL, ENOTTY, EOPNOTSUPP, EXDEV),                                     \
	  "posix/io/ioctl" /* torn: FICLONE, FICLONERANGE */)                             \
	/* 3. durability */                                                               \
	P(int, fsync, (int fd), (fd), -1,                                                 \
	  (EBADF, EDQUOT, EINTR, EINVAL, EIO, ENOSPC, EROFS), "posix/io/sync/fsync")      \
	P(int, fdatasync, (int fd), (fd), -1,                                             \
	  (EBADF, EDQUOT, EINTR, EINVAL, EIO, ENOSPC, EROFS),                             \
	  "posix/io/sync/fdatasync")                                                      \
	P(int, sync_file_range, (int fd, off64_t off, off64_t n, unsigned int flags),     \
	  (fd, off, n, flags), -1, (EBADF, EINVAL, EIO, ENOMEM, ENOSPC, ESPIPE),          \
	  "linux/io/sync_file_range")                                    \
	H(void, sync, (void), 0, (0), "posix/io/sync/sync" /* torn: */)                   \
	P(int, syncfs, (int fd), (fd), -1, (EBADF, EDQUOT, EIO, ENOSPC),                  \
	  "posix/io/sync/syncfs" /* torn: */)                                             \
	/* 4. sizes */                                                                    \
	P(int, ftruncate, (int fd, off_t len), (fd, len), -1,                             \
	  (EBADF, EFBIG, EINTR, EINVAL, EIO, EPERM, EROFS), "posix/io/rw/ftruncate")      \
	P(int, ftruncate64, (int fd, off64_t len), (fd, len), -1,                         \
	  (EBADF, EFBIG, EINTR, EINVAL, EIO, EPERM, EROFS), "posix/io/rw/ftruncate")      \
	P(int, truncate, (const char *path, off_t len), (path, len), -1,                  \
	  SHIM_E_TRUNCATE, "posix/io/rw/truncate")                                        \
	P(int, truncate64, (const char *path, off64_t len), (path, len), -1,              \
	  SHIM_E_TRUNCATE, "posix/io/rw/truncate")                                        \
	P(int, fallocate, (int fd, int mode, off_t off, off_t len),                       \
	  (fd, mode, off, len), -1, SHIM_E_FALLOCATE,                                     \
	  "posix/io/rw/fallocate" /* torn: */)                                            \
	P(int, fallocate64, (int fd, int mode, off64_t off, off64_t len),                 \
	  (fd, mode, off, len), -1, SHIM_E_FALLOCATE,                                     \
	  "posix/io/rw/fallocate" /* torn: */)                                            \
	/* returns the error number itself, leaves errno alone */                         \
	P(int, posix_fallocate, (int fd, off_t off, off_t len), (fd, off, len), 0,        \
	  (EBADF, EFBIG, EINTR, EINVAL, ENODEV, ENOSPC, ESPIPE),                          \
	  "posix/io/rw/posix_fallocate" /* torn: */)                                      \
	P(int, posix_fallocate64, (int fd, off64_t off, off64_t len), (fd, off, len),     \
	  0, (EBADF, EFBIG, EINTR, EINVAL, ENODEV, ENOSPC, ESPIPE),                       \
	  "posix/io/rw/posix_fallocate" /* torn: */)                                      \
	/* 5. namespace */                                                                \
	P(int, rename, (const char *from, const char *to), (from, to), -1,                \
	  SHIM_E_RENAME, "posix/io/dir/rename")                                           \
	P(int, renameat, (int fd1, const char *from, int fd2, const char *to),            \
	  (fd1, from, fd2, to), -1, SHIM_E_RENAME, "posix/io/dir/rename")                 \
	P(int, renameat2,                                                                 \
	  (int fd1, const char *from, int fd2, const char *to, unsigned int flags),       \
	  (fd1, from, fd2, to, flags), -1, SHIM_E_RENAME, "posix/io/dir/rename")          \
	P(int, unlink, (const char *path), (path), -1, SHIM_E_UNLINK,                     \
	  "posix/io/dir/unlink")                                                          \
	P(int, unlinkat, (int dirfd, const char *path, int flags),                        \
	  (dirfd, path, flags), -1, SHIM_E_UNLINK, "posix/io/dir/unlink")                 \
	P(int, link, (const char *from, const char *to), (from, to), -1, SHIM_E_LINK,     \
	  "posix/io/dir/link" /* torn: */)                                                \
	P(int, linkat,                                                                    \
	  (int fd1, const char *from, int fd2, const char *to, int flags),                \
	  (fd1, from, fd2, to, flags), -1, SHIM_E_LINK,                                   \
	  "posix/io/dir/link" /* torn: */)                                                \
	P(int, symlink, (const char *target, const char *path), (target, path), -1,       \
	  SHIM_E_SYMLINK, "posix/io/dir/symlink" /* torn: */)                             \
	P(int, symlinkat, (const char *target, int dirfd, const char *path),              \
	  (target, dirfd, path), -1, SHIM_E_SYMLINK,                                      \
	  "posix/io/dir/symlink" /* torn: */)                                             \
	P(int, mkdir, (const char *path, mode_t mode), (path, mode), -1, SHIM_E_MKDIR,    \
	  "posix/io/dir/mkdir" /* torn: */)                                               \
	P(int, mkdirat, (int dirfd, const char *path, mode_t mode),                       \
	  (dirfd, path, mode), -1, SHIM_E_MKDIR, "posix/io/dir/mkdir" /* torn: */)        \
	P(int, rmdir, (const char *path), (path), -1, SHIM_E_RMDIR,                       \
	  "posix/io/dir/rmdir" /* torn: */)                                               \
	H(int, remove, (const char *path), -1, SHIM_E_RMDIR, "posix/stdio/remove")        \
	H(int, mkstemp, (char *tmpl), -1, (EACCES, EEXIST, EINVAL, EMFILE, ENOSPC),       \
	  "posix/io/oc/mkstemp" /* torn: */)                                              \
	H(int, mkstemp64, (char *tmpl), -1, (EACCES, EEXIST, EINVAL, EMFILE, ENOSPC),     \
	  "posix/io/oc/mkstemp" /* torn: */)                                              \
	H(int, mkostemp, (char *tmpl, int flags), -1,                                     \
	  (EACCES, EEXIST, EINVAL, EMFILE, ENOSPC), "posix/io/oc/mkstemp" /* torn: */)    \
	H(int, mkostemp64, (char *tmpl, int flags), -1,                                   \
	  (EACCES, EEXIST, EINVAL, EMFILE, ENOSPC), "posix/io/oc/mkstemp" /* torn: */)    \
	H(int, mkstemps, (char *tmpl, int suffixlen), -1,                                 \
	  (EACCES, EEXIST, EINVAL, EMFILE, ENOSPC), "posix/io/oc/mkstemp" /* torn: */)    \
	H(int, mkstemps64, (char *tmpl, int suffixlen), -1,                               \
	  (EACCES, EEXIST, EINVAL, EMFILE, ENOSPC), "posix/io/oc/mkstemp" /* torn: */)    \
	H(int, mkostemps, (char *tmpl, int suffixlen, int flags), -1,                     \
	  (EACCES, EEXIST, EINVAL, EMFILE, ENOSPC), "posix/io/oc/mkstemp" /* torn: */)    \
	H(int, mkostemps64, (char *tmpl, int suffixlen, int flags), -1,                   \
	  (EACCES, EEXIST, EINVAL, EMFILE, ENOSPC), "posix/io/oc/mkstemp" /* torn: */)    \
	H(char *, mkdtemp, (char *tmpl), NULL, (EACCES, EEXIST, EINVAL, ENOSPC),          \
	  "posix/io/dir/mkdtemp" /* torn: */)                                             \
	/* 6. processes */                                                                \
	H(pid_t, fork, (void), -1, (EAGAIN, ENOMEM), "posix/proc/fork")                   \
	H(int, execve, (const char *path, char *const argv[], char *const envp[]), -1,    \
	  SHIM_E_EXEC, "posix/proc/exec" /* torn: */)                                     \
	H(int, execv, (const char *path, char *const argv[]), -1, SHIM_E_EXEC,            \
	  "posix/proc/exec" /* torn: */)                                                  \
	H(int, execvp, (const char *file, char *const argv[]), -1, SHIM_E_EXEC,           \
	  "posix/proc/exec" /* torn: */)                                                  \
	H(int, execl, (const char *path, const char *arg, ...), -1, SHIM_E_EXEC,          \
	  "posix/proc/exec" /* torn: */)                                                  \
	H(int, execlp, (const char *file, const char *arg, ...), -1, SHIM_E_EXEC,         \
	  "posix/proc/exec" /* torn: */)                                                  \
	H(int, execle, (const char *path, const char *arg, ...), -1, SHIM_E_EXEC,         \
	  "posix/proc/exec" /* torn: */)                                                  \
	H(int, execvpe, (const char *file, char *const argv[], char *const envp[]),       \
	  -1, SHIM_E_EXEC, "posix/proc/exec" /* torn: */)                                 \
	H(int, posix_spawn,                                                               \
	  (pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,            \
	   const posix_spawnattr_t *attr, char *const argv[], char *const envp[]),        \
	  1, SHIM_E_SPAWN, "posix/proc/spawn" /* torn: */)                                \
	H(int, posix_spawnp,                                                              \
	  (pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,            \
	   const posix_spawnattr_t *attr, char *const argv[], char *const envp[]),        \
	  1, SHIM_E_SPAWN, "posix/proc/spawn" /* torn: */)                                \
	/* 7. mappings */                                                                 \
	H(void *, mmap,                                                                   \
	  (void *addr, size_t len, int prot, int flags, int fd, off_t off),               \
	  MAP_FAILED, (EACCES, EAGAIN, EBADF, EINVAL, ENFILE, ENODEV, ENOMEM, EPERM),     \
	  "posix/mm/mmap")                                                                \
	H(void *, mmap64,                                                                 \
	  (void *addr, size_t len, int prot, int flags, int fd, off64_t off),             \
	  MAP_FAILED, (EACCES, EAGAIN, EBADF, EINVAL, ENFILE, ENODEV, ENOMEM, EPERM),     \
	  "posix/mm/mmap")                                                                \
	H(int, munmap, (void *addr, size_t len), -1, (EINVAL), "posix/mm/munmap")         \
	H(int, mprotect, (void *addr, size_t len, int prot), -1,                          \
	  (EACCES, EINVAL, ENOMEM), "posix/mm/mprotect")                                  \
	H(int, msync, (void *addr, size_t len, int flags), -1,                            \
	  (EBUSY, EINVAL, EIO, ENOMEM), "posix/mm/msync")                                 \
	/* 8. stdio */                                                                    \
	H(FILE *, fopen, (const char *path, const char *mode), NULL, SHIM_E_FOPEN,        \
	  "posix/stdio/oc/fopen")                                                         \
	H(FILE *, fopen64, (const char *path, const char *mode), NULL, SHIM_E_FOPEN,      \
	  "posix/stdio/oc/fopen")                                                         \
	H(FILE *, fdopen, (int fd, const char *mode), NULL, SHIM_E_FOPEN,                 \
	  "posix/stdio/oc/fdopen")                                                        \
	H(FILE *, freopen, (const char *path, const char *mode, FILE *f), NULL,           \
	  SHIM_E_FOPEN, "posix/stdio/oc/freopen")                                         \
	H(FILE *, freopen64, (const char *path, const char *mode, FILE *f), NULL,         \
	  SHIM_E_FOPEN, "posix/stdio/oc/freopen")                                         \
	H(int, fclose, (FILE *f), EOF,                                                    \
	  (EBADF, EDQUOT, EFBIG, EINTR, EIO, ENOSPC, EPIPE), "posix/stdio/oc/fclose")     \
	H(int, fcloseall, (void), EOF,                                                    \
	  (EBADF, EDQUOT, EFBIG, EINTR, EIO, ENOSPC, EPIPE),                              \
	  "posix/stdio/oc/fcloseall" /* torn: */)                                         \
	H(int, fflush, (FILE *f), EOF,                                                    \
	  (EBADF, EDQUOT, EFBIG, EINTR, EIO, ENOSPC, EPIPE), "posix/stdio/fflush")        \
	H(int, fflush_unlocked, (FILE *f), EOF,                                           \
	  (EBADF, EDQUOT, EFBIG, EINTR, EIO, ENOSPC, EPIPE), "posix/stdio/fflush")        \
	H(size_t, fwrite, (const void *p, size_t size, size_t n, FILE *f), 0,             \
	  SHIM_E_STDIO_W, "posix/stdio/rw/fwrite")                                        \
	H(size_t, fwrite_unlocked, (const void *p, size_t size, size_t n, FILE *f), 0,    \
	  SHIM_E_STDIO_W, "posix/stdio/rw/fwrite")                                        \
	H(int, fputs, (const char *s, FILE *f), EOF, SHIM_E_STDIO_W,                      \
	  "posix/stdio/gp/fputs")                                                         \
	H(int, fputs_unlocked, (const char *s, FILE *f), EOF, SHIM_E_STDIO_W,             \
	  "posix/stdio/gp/fputs")                                                         \
	H(int, fputc, (int c, FILE *f), EOF, SHIM_E_STDIO_W, "posix/stdio/gp/fputc")      \
	H(int, fputc_unlocked, (int c, FILE *f), EOF, SHIM_E_STDIO_W,                     \
	  "posix/stdio/gp/fputc")                                                         \
	H(int, putc, (int c, FILE *f), EOF, SHIM_E_STDIO_W, "posix/stdio/gp/putc")        \
	H(int, putc_unlocked, (int c, FILE *f), EOF, SHIM_E_STDIO_W,                      \
	  "posix/stdio/gp/putc")                                                          \
	H(int, fprintf, (FILE *f, const char *fmt, ...), -1, SHIM_E_STDIO_W,              \
	  "posix/stdio/sp/fprintf")                                                       \
	H(int, vfprintf, (FILE *f, const char *fmt, va_list ap), -1, SHIM_E_STDIO_W,      \
	  "posix/stdio/sp/vfprintf")                                                      \
	H(int, __fprintf_chk, (FILE *f, int flag, const char *fmt, ...), -1,              \
	  SHIM_E_STDIO_W, "posix/stdio/sp/fprintf")                                       \
	H(int, __vfprintf_chk, (FILE *f, int flag, const char *fmt, va_list ap), -1,      \
	  SHIM_E_STDIO_W, "posix/stdio/sp/vfprintf")                                      \
	H(int, printf, (const char *fmt, ...), -1, SHIM_E_STDIO_W,                        \
	  "posix/stdio/sp/printf")                                                        \
	H(int, vprintf, (const char *fmt, va_list ap), -1, SHIM_E_STDIO_W,                \
	  "posix/stdio/sp/vprintf")                                                       \
	H(int, __printf_chk, (int flag, const char *fmt, ...), -1, SHIM_E_STDIO_W,        \
	  "posix/stdio/sp/printf")                                                        \
	H(int, __vprintf_chk, (int flag, const char *fmt, va_list ap), -1,                \
	  SHIM_E_STDIO_W, "posix/stdio/sp/vprintf")                                       \
	H(int, puts, (const char *s), EOF, SHIM_E_STDIO_W, "posix/stdio/gp/puts")         \
	H(int, putchar, (int c), EOF, SHIM_E_STDIO_W, "posix/stdio/gp/putchar")           \
	H(int, putchar_unlocked, (int c), EOF, SHIM_E_STDIO_W,                            \
	  "posix/stdio/gp/putchar")                                                       \
	H(int, dprintf, (int fd, const char *fmt, ...), -1, SHIM_E_STDIO_W,               \
	  "posix/stdio/sp/dprintf")                                                       \
	H(int, vdprintf, (int fd, const char *fmt, va_list ap), -1, SHIM_E_STDIO_W,       \
	  "posix/stdio/sp/vdprintf")                                                      \
	H(int, __dprintf_chk, (int fd, int flag, const char *fmt, ...), -1,               \
	  SHIM_E_STDIO_W, "posix/stdio/sp/dprintf")                                       \
	H(int, __vdprintf_chk, (int fd, int flag, const char *fmt, va_list ap), -1,       \
	  SHIM_E_STDIO_W, "posix/stdio/sp/vdprintf")                                      \
	H(int, fseek, (FILE *f, long off, int whence), -1,                                \
	  (EBADF, EINVAL, EIO, ENOSPC, EOVERFLOW, ESPIPE), "posix/stdio/seek/fseek")      \
	H(int, fseeko, (FILE *f, off_t off, int whence), -1,                              \
	  (EBADF, EINVAL, EIO, ENOSPC, EOVERFLOW, ESPIPE), "posix/stdio/seek/fseeko")     \
	H(int, fseeko64, (FILE *f, off64_t off, int whence), -1,                          \
	  (EBADF, EINVAL, EIO, ENOSPC, EOVERFLOW, ESPIPE), "posix/stdio/seek/fseeko")     \
	H(void, rewind, (FILE *f), 0, (0), "posix/stdio/seek/rewind" /* torn: */)         \
	H(int, fsetpos, (FILE *f, const fpos_t *pos), -1,                                 \
	  (EBADF, EINVAL, EIO, ENOSPC, EOVERFLOW, ESPIPE), "posix/stdio/seek/fsetpos")    \
	H(int, fsetpos64, (FILE *f, const fpos64_t *pos), -1,                             \
	  (EBADF, EINVAL, EIO, ENOSPC, EOVERFLOW, ESPIPE), "posix/stdio/seek/fsetpos")    \
	/* 9. io_uring via liburing (shim_uring.c; torn: names; faults at completions) */      \
	H(int, io_uring_queue_init, (unsigned n, struct io_uring *r, unsigned fl), -ENOMEM,  \
	  (0), "linux/io_uring/init")                                                      \
	H(int, io_uring_queue_init_params, (unsigned n, struct io_uring *r,               \
	  struct io_uring_params *p), -ENOMEM, (0), "linux/io_uring/init")                 \
	H(void, io_uring_queue_exit, (struct io_uring *r), 0, (0), "linux/io_uring/exit") \
	H(int, io_uring_submit, (struct io_uring *r), -EBUSY, (0), "linux/io_uring/submit") \
	H(int, io_uring_submit_and_wait, (struct io_uring *r, unsigned nr), -EBUSY, (0),  \
	  "linux/io_uring/submit")                                                         \
	H(int, io_uring_submit_and_wait_timeout, (struct io_uring *r,                     \
	  struct io_uring_cqe **c, unsigned nr, struct __kernel_timespec *ts,             \
	  sigset_t *sm), -EBUSY, (0), "linux/io_uring/submit")                            \
	H(int, io_uring_submit_and_get_events, (struct io_uring *r), -EBUSY, (0),         \
	  "linux/io_uring/submit")                                                         \
	H(int, io_uring_get_events, (struct io_uring *r), -EBUSY, (0),                    \
	  "linux/io_uring/wait")                                                           \
	H(int, __io_uring_get_cqe, (struct io_uring *r, struct io_uring_cqe **c,          \
	  unsigned submit, unsigned nr, sigset_t *sm), -EINTR, (0), "linux/io_uring/wait") \
	H(int, io_uring_wait_cqes, (struct io_uring *r, struct io_uring_cqe **c,          \
	  unsigned nr, struct __kernel_timespec *ts, sigset_t *sm), -EINTR, (0),          \
	  "linux/io_uring/wait")                                                           \
	H(int, io_uring_wait_cqe_timeout, (struct io_uring *r, struct io_uring_cqe **c,   \
	  struct __kernel_timespec *ts), -EINTR, (0), "linux/io_uring/wait")              \
	H(unsigned, io_uring_peek_batch_cqe, (struct io_uring *r,                         \
	  struct io_uring_cqe **c, unsigned n), 0, (0), "linux/io_uring/wait")            \
	H(int, io_uring_register_files, (struct io_uring *r, const int *f, unsigned n),   \
	  -EINVAL, (0), "linux/io_uring/register")                                         \
	H(int, io_uring_register_files_tags, (struct io_uring *r, const int *f,           \
	  const __u64 *t, unsigned n), -EINVAL, (0), "linux/io_uring/register")          \
	H(int, io_uring_register_files_sparse, (struct io_uring *r, unsigned n), -EINVAL, \
	  (0), "linux/io_uring/register")                                                  \
	H(int, io_uring_register_files_update, (struct io_uring *r, unsigned off,         \
	  const int *f, unsigned n), -EINVAL, (0), "linux/io_uring/register")             \
	H(int, io_uring_register_files_update_tag, (struct io_uring *r, unsigned off,     \
	  const int *f, const __u64 *t, unsigned n), -EINVAL, (0),                        \
	  "linux/io_uring/register")                                                       \
	H(int, io_uring_unregister_files, (struct io_uring *r), -EINVAL, (0),             \
	  "linux/io_uring/register")                                                       \
	H(int, io_uring_register_buffers, (struct io_uring *r, const struct iovec *v,     \
	  unsigned n), -EINVAL, (0), "linux/io_uring/register")                           \
	H(int, io_uring_register_buffers_tags, (struct io_uring *r,                       \
	  const struct iovec *v, const __u64 *t, unsigned n), -EINVAL, (0),               \
	  "linux/io_uring/register")                                                       \
	H(int, io_uring_register_buffers_update_tag, (struct io_uring *r, unsigned off,   \
	  const struct iovec *v, const __u64 *t, unsigned n), -EINVAL, (0),               \
	  "linux/io_uring/register")                                                       \
	H(int, io_uring_unregister_buffers, (struct io_uring *r), -EINVAL, (0),           \
	  "linux/io_uring/register")

/* Fault injection (injector/shim_fault.c, injector/fault_spec.c):
 *   SHIM_FAULT_HAND   the H lines whose hand-written wrapper injects at its
 *                     point (every P line's generated wrapper does);
 *   SHIM_FAULT_SHORT  the write calls: a short write applies to them, and
 *                     their point has a POINT/reduce twin (libfiu's name
 *                     for a short count);
 *   SHIM_URING_POINTS the io_uring completions torn fails: (point, the
 *                     opcodes it covers, its errnos). */
#define SHIM_FAULT_HAND " open open64 openat openat64 __open_2 __open64_2 __openat_2 " \
	"__openat64_2 creat creat64 close closedir copy_file_range splice sendfile "      \
	"sendfile64 remove mkstemp mkstemp64 mkostemp mkostemp64 mkstemps mkstemps64 "    \
	"mkostemps mkostemps64 mkdtemp read __read_chk pread pread64 __pread_chk "        \
	"__pread64_chk readv preadv preadv64 fopen fopen64 fflush fflush_unlocked "       \
	"fwrite fwrite_unlocked fputs fputs_unlocked fputc fputc_unlocked putc "          \
	"putc_unlocked fprintf vfprintf __fprintf_chk __vfprintf_chk printf vprintf "      \
	"__printf_chk __vprintf_chk puts putchar putchar_unlocked fdopen fclose dprintf "  \
	"vdprintf __dprintf_chk __vdprintf_chk fseek fseeko fseeko64 fsetpos fsetpos64 "
#define SHIM_FAULT_SHORT " write pwrite pwrite64 writev pwritev pwritev64 pwritev2 " \
	"pwritev64v2 "
#define SHIM_URING_POINTS(X)                                                              \
	X("torn/uring/write", "IORING_OP_WRITE IORING_OP_WRITEV IORING_OP_WRITE_FIXED",   \
	  (EAGAIN, EDQUOT, EFBIG, EINTR, EIO, ENOSPC))                                    \
	X("torn/uring/fsync", "IORING_OP_FSYNC", (EDQUOT, EINTR, EIO, ENOSPC))

#endif /* TORN_INJECTOR_SHIM_CALLS_H */
