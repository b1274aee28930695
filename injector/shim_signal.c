/*
 * injector/shim_signal.c - the calls that install signal handlers:
 * sigaction, signal and its old variants.  Nothing is recorded; the shim
 * only learns which signals have a handler of the program, so that its
 * lock can leave signals unblocked while there is none (shim_ring.c,
 * section 2: two system calls less per recorded event).
 *
 * Sections: 1. real functions, 2. the wrappers.
 *
 * Every wrapper passes its arguments to libc's function untouched and
 * returns what it returns, errno included: the disposition the program
 * asked for is the one installed (no trampoline), and what sigaction
 * reports as the old action is the kernel's.  glibc's signal(), sigset()
 * and friends reach its sigaction internally, not through the exported
 * symbol: each is wrapped on its own.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>

#include "shim.h"

/* ==========================================================================
 * 1. REAL FUNCTIONS
 * ========================================================================== */

typedef void (*shim_sighandler)(int);

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static int (*real___sigaction)(int, const struct sigaction *, struct sigaction *);
static shim_sighandler (*real_signal)(int, shim_sighandler);
static shim_sighandler (*real_bsd_signal)(int, shim_sighandler);
static shim_sighandler (*real_sysv_signal)(int, shim_sighandler);
static shim_sighandler (*real___sysv_signal)(int, shim_sighandler);
static shim_sighandler (*real_ssignal)(int, shim_sighandler);
static shim_sighandler (*real_sigset)(int, shim_sighandler);

/* In the constructor (dlsym may allocate), or by the first wrapper that
 * runs before it, as shim_resolve() does for the table. */
static void sig_resolve(void)
{
	*(void **)&real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	*(void **)&real___sigaction = dlsym(RTLD_NEXT, "__sigaction");
	*(void **)&real_signal = dlsym(RTLD_NEXT, "signal");
	*(void **)&real_bsd_signal = dlsym(RTLD_NEXT, "bsd_signal");
	*(void **)&real_sysv_signal = dlsym(RTLD_NEXT, "sysv_signal");
	*(void **)&real___sysv_signal = dlsym(RTLD_NEXT, "__sysv_signal");
	*(void **)&real_ssignal = dlsym(RTLD_NEXT, "ssignal");
	*(void **)&real_sigset = dlsym(RTLD_NEXT, "sigset");
}

__attribute__((constructor(101))) static void shim_signal_init(void)
{
	sig_resolve();
}

#define SIG_REAL(name) \
	(__builtin_expect(real_##name != NULL, 1) ? real_##name : (sig_resolve(), real_##name))

/* ==========================================================================
 * 2. THE WRAPPERS
 * ========================================================================== */

/* Is @h a function of the program (not a disposition constant)? */
static int is_handler(shim_sighandler h)
{
	return h != SIG_DFL && h != SIG_IGN && h != SIG_ERR
#ifdef SIG_HOLD
	       && h != SIG_HOLD
#endif
	       ;
}

static int sigaction_common(int (*real)(int, const struct sigaction *, struct sigaction *),
			    int sig, const struct sigaction *act, struct sigaction *old)
{
	struct shim_sig_change ch;
	int r, e;

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (!act)               /* a query: nothing changes */
		return real(sig, act, old);
	e = errno;
	shim_sig_change_begin(&ch, sig, is_handler(act->sa_handler));
	errno = e;
	r = real(sig, act, old);
	e = errno;
	shim_sig_change_end(&ch, r == 0);
	errno = e;
	return r;
}

SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction_common(SIG_REAL(sigaction), sig, act, old);
}

SHIM_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction_common(SIG_REAL(__sigaction), sig, act, old);
}

static shim_sighandler signal_common(shim_sighandler (*real)(int, shim_sighandler), int sig,
				     shim_sighandler h)
{
	struct shim_sig_change ch;
	shim_sighandler r;
	int e;

	if (!real) {
		errno = ENOSYS;
		return SIG_ERR;
	}
#ifdef SIG_HOLD
	if (h == SIG_HOLD)      /* sigset: blocks the signal, the handler stays */
		return real(sig, h);
#endif
	e = errno;
	shim_sig_change_begin(&ch, sig, is_handler(h));
	errno = e;
	r = real(sig, h);
	e = errno;
	shim_sig_change_end(&ch, r != SIG_ERR);
	errno = e;
	return r;
}

SHIM_EXPORT shim_sighandler signal(int sig, shim_sighandler h)
{
	return signal_common(SIG_REAL(signal), sig, h);
}

SHIM_EXPORT shim_sighandler bsd_signal(int sig, shim_sighandler h)
{
	return signal_common(SIG_REAL(bsd_signal), sig, h);
}

SHIM_EXPORT shim_sighandler sysv_signal(int sig, shim_sighandler h)
{
	return signal_common(SIG_REAL(sysv_signal), sig, h);
}

SHIM_EXPORT shim_sighandler __sysv_signal(int sig, shim_sighandler h)
{
	return signal_common(SIG_REAL(__sysv_signal), sig, h);
}

SHIM_EXPORT shim_sighandler ssignal(int sig, shim_sighandler h)
{
	return signal_common(SIG_REAL(ssignal), sig, h);
}

SHIM_EXPORT shim_sighandler sigset(int sig, shim_sighandler h)
{
	return signal_common(SIG_REAL(sigset), sig, h);
}
