/*
 * injector/shim.h - the shim's internal interface, between the interposed
 * wrappers (shim.c, shim_*.c: what the program calls) and the event sink
 * (shim_ring.c: the shared-memory ring that `torn record` drains into the
 * trace file).
 *
 * Calling sequence of a wrapper that records something:
 *
 *	if (!shim_active() || !<fd or path is under the root>)
 *		return real_call(...);            // pass through, untouched
 *	struct shim_lock lk;
 *	shim_lock(&lk);                          // global order; no handler runs
 *	ret = real_call(...); saved = errno;     // the call itself, under the lock
 *	if (<it did something worth recording>) {
 *		struct torn_event ev = { .type = ..., .result = ret < 0 ? -saved : ret, ... };
 *		shim_emit(&ev);                  // seq, pid, tid filled in here
 *	}
 *	shim_unlock(&lk);
 *	errno = saved;
 *	return ret;
 *
 * Holding the lock across the real call is what makes the trace order the
 * order in which calls took effect (two threads writing the same block are
 * recorded in the order the kernel applied them).  fsync is the exception:
 * it does not hold the lock while it runs, so that other threads may go on;
 * it records aux_seq = shim_seq_now() taken before the call, and the model
 * counts as covered only writes with a smaller seq.
 *
 * Nothing here allocates: the ring and the dedup table live in the shared
 * mapping made by `torn record`, per-thread state is a few words of TLS.
 */
#ifndef TORN_INJECTOR_SHIM_H
#define TORN_INJECTOR_SHIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "torn/trace.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Environment set by `torn record` for the program (and kept across exec by
 * the shim's exec wrappers). */
#define SHIM_ENV_CTL        "TORN_SHM"          /* path of the shared control file */
#define SHIM_ENV_MARK_FD    "TORN_MARK_FD"      /* fd the program writes mark lines to */
#define SHIM_ENV_PRELOAD    "LD_PRELOAD"
#define SHIM_ENV_FAULTS     "TORN_FAULTS"       /* fault specs, one per line (fault_spec.h) */
#define SHIM_ENV_FAULT_SEED "TORN_FAULT_SEED"   /* --fault-seed, derived per process */

/* Descriptors the shim keeps for itself are moved to SHIM_FD_BASE and up;
 * the wrappers of close, close_range, closefrom, dup2 and dup3 keep the
 * program from closing or replacing them. */
#define SHIM_FD_BASE        1000

/* Is recording set up in this process?  False before the constructor ran,
 * when TORN_SHM is absent, and after the recorder went away. */
int shim_active(void);

/* The absolute, resolved recording root (no trailing '/') and its length. */
const char *shim_root(void);
size_t shim_root_len(void);

/* Is @fd one of the shim's own descriptors? */
int shim_own_fd(int fd);

struct shim_lock {
	sigset_t saved;     /* the thread's signal mask before the lock */
	int      held;
	int      cancel;    /* the thread's cancel state before the lock */
	int      counted;   /* signals left unblocked (no handler: shim_ring.c) */
	pid_t    count_pid; /* the process that counted it */
};

/* Take / release the global (cross-process) lock.  No handler of the
 * program runs while it is held, so a signal handler that does I/O cannot
 * deadlock on it: signals are blocked while it is held when the program
 * has installed a handler, and handlers are not installed while a lock
 * without blocked signals is held (shim_ring.c, section 2).  A wrapper
 * re-entered in the same thread (a recursion through libc) must check
 * shim_in_lock() and pass through. */
void shim_lock(struct shim_lock *lk);
void shim_unlock(struct shim_lock *lk);
int  shim_in_lock(void);

/* Around a change of signal @sig's disposition (shim_signal.c's wrappers
 * of sigaction, signal, ...): @user_handler says the new disposition is a
 * function of the program (not SIG_DFL, SIG_IGN, SIG_HOLD).  begin blocks
 * signals in this thread and, for a handler, waits until no lock without
 * blocked signals is held; end says whether the change was made. */
struct shim_sig_change {
	sigset_t saved;
	int      sig, user, prev, locked;
};
void shim_sig_change_begin(struct shim_sig_change *ch, int sig, int user_handler);
void shim_sig_change_end(struct shim_sig_change *ch, int ok);

/* Under the lock: a fresh open-file-description handle (never 0). */
uint64_t shim_new_handle(void);

/* Seq of the last event recorded so far (no lock needed). */
uint64_t shim_seq_now(void);

/* Under the lock: record @ev.  seq, pid and tid are filled in (and stored
 * back into @ev); marks waiting in the mark pipes are drained first so that
 * they are ordered before this event. */
void shim_emit(struct torn_event *ev);

/* Under the lock: record a write event @ev (type TORN_EV_WRITE or
 * TORN_EV_URING_SUBMIT, with handle, off, len, result, flags, aux set) whose
 * payload is the first @nbytes bytes of @iov.  Puts the bytes in as
 * unhashed blobs and the event after them (the recorder hashes, dedups and
 * fills in the chunk hashes: shm.h), splitting a write of more than 16
 * chunks into several events (TORN_F_SPLIT on the continuations). */
void shim_emit_write(struct torn_event *ev, const struct iovec *iov, int iovcnt, size_t nbytes);

/* Under the lock: record @ev (TORN_EV_IMPORT: path, mode, ino, len set by
 * the caller) with the @len bytes at @data as its content, in one record:
 * unhashed blobs, then the event naming them (as shim_emit_write).  Returns 0, -E2BIG when the content takes more than
 * TORN_WRITE_MAX_CHUNKS chunks (nothing emitted), or -EPIPE when recording
 * stopped. */
int shim_emit_content(struct torn_event *ev, const void *data, size_t len);

/* Under the lock: record the io_uring completions that appeared since the
 * last look (shim_uring.c); shim_emit calls it before every event.  Weak:
 * the ring's unit test links shim_ring.c without the wrappers. */
void shim_uring_poll(void) __attribute__((weak));

/* Under the lock: record a mark line (a newline, if any, ends it). */
void shim_emit_mark(const char *text, size_t len);

/* For the exec wrappers: fill @out (capacity @cap entries, NULL-terminated)
 * with @envp plus the variables recording needs (LD_PRELOAD with the shim,
 * TORN_SHM, TORN_MARK_FD, and TORN_FAULTS with its TORN_FAULT_SEED when set)
 * as they were at start-up, replacing any the program
 * changed or removed.  Strings point into @envp or into the shim's static
 * storage; nothing is allocated.  Returns the number of entries, or -E2BIG. */
int shim_exec_env(char *const envp[], char **out, size_t cap);

/* Faults (shim_fault.c): the per-rule call counters in the control block
 * (under the lock; NULL when not recording), and for shim_exec_env the
 * "TORN_FAULTS=..." and "TORN_FAULT_SEED=N" of the next image ("" when no
 * faults are set). */
uint64_t *shim_fault_counts(void);
/* Weak, as shim_uring_poll: the ring's unit test has no shim_fault.c. */
const char *shim_fault_env_specs(void) __attribute__((weak));
const char *shim_fault_env_seed(void) __attribute__((weak));

/* Process life: call from the fork wrapper in the child (after fork
 * returned 0) and before exec.  They keep the ring usable across both. */
void shim_after_fork_child(void);
void shim_before_exec(void);

/* This process's pid without a syscall in the common case (cached; the
 * cache is emptied in any fork child by the kernel, and bypassed inside
 * vfork, see shim_t_vfork). */
pid_t shim_pid(void);

/* > 0 while this thread is in vfork() (shim_proc.c): the vfork child, which
 * runs on the parent's TLS, then sees it too and caches nothing. */
extern __thread int shim_t_vfork __attribute__((tls_model("initial-exec")));

#endif /* TORN_INJECTOR_SHIM_H */
