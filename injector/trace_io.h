/*
 * injector/trace_io.h - whole writes for torn's own files (the trace, the
 * crash states it materialises): EINTR retried, short counts continued,
 * a call that makes no progress is -EIO.  Not for the shim (it must not
 * retry on the program's behalf) nor the engines (engines/eio.h has their
 * own rules, faults and O_DIRECT alignment included).
 */
#ifndef TORN_INJECTOR_TRACE_IO_H
#define TORN_INJECTOR_TRACE_IO_H

#include <stddef.h>
#include <sys/types.h>

/* All @n bytes of @p to @fd at its file position: 0 or -errno. */
int trace_write_all(int fd, const void *p, size_t n);
/* All @n bytes of @p to @fd at offset @off: 0 or -errno. */
int trace_pwrite_all(int fd, const void *p, size_t n, off_t off);

#endif /* TORN_INJECTOR_TRACE_IO_H */
