/*
 * torn/mark.h - tell torn what the program has promised.
 *
 * A mark is a line of text recorded in the trace, in order with the I/O
 * around it.  A checker of a crash state at position P is given every mark
 * made before P (in the file named by $TORN_MARKS): those are the promises
 * that recovery must keep.  Make a mark right after the durability step
 * that allows the promise, and before telling anyone else:
 *
 *	fdatasync(fd);
 *	torn_mark("put %s %s", key, hash);     // the put is acknowledged
 *	reply_ok(client);
 *
 * torn_mark() formats like printf; a newline ends the mark (the text is cut
 * at the first one).  Without the torn shim loaded it does nothing, so the
 * same binary runs in production: the shim's function is looked up once
 * with dlsym(RTLD_DEFAULT, "torn_mark").  Thread-safe and async-signal-safe
 * as far as the program's own vsnprintf is (the shim formats with the
 * program's arguments into a stack buffer of TORN_MARK_MAX bytes).
 *
 * Programs in other languages write mark lines to the file descriptor named
 * by $TORN_MARK_FD, or print them to stdout under `torn record
 * --marks-from-stdout`.
 */
#ifndef TORN_MARK_H
#define TORN_MARK_H

#include <dlfcn.h>

#define TORN_MARK_MAX 1024

typedef void (*torn_mark_fn)(const char *fmt, ...);

static inline torn_mark_fn torn_mark_resolve_(void)
{
	static torn_mark_fn fn;
	static volatile int done;

	if (!done) {
		fn = (torn_mark_fn)dlsym(RTLD_DEFAULT, "torn_mark");
		done = 1;
	}
	return fn;
}

#define torn_mark(...)                                               \
	do {                                                         \
		torn_mark_fn torn_fn_ = torn_mark_resolve_();        \
		if (torn_fn_)                                        \
			torn_fn_(__VA_ARGS__);                       \
	} while (0)

#endif /* TORN_MARK_H */
