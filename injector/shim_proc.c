/*
 * injector/shim_proc.c - processes: fork, the exec family, posix_spawn.
 *
 * Sections: 1. fork, 2. the environment of a new image, 3. exec,
 * 4. posix_spawn.
 *
 * fork holds the global lock across the real fork: the child's first event
 * waits until the parent has recorded TORN_EV_PROC_FORK, so the trace shows
 * the fork before anything the child does.  The child does not release the
 * lock (it is the parent thread's, in shared memory): it only forgets it
 * held it (shim_after_fork_child) and restores its signal mask.
 *
 * Every exec passes an environment fixed by shim_exec_env(): LD_PRELOAD with
 * the shim, TORN_SHM and TORN_MARK_FD as they were at start-up, so the shim
 * follows into the new image even when the program cleared its environment
 * (execve(path, argv, NULL) included).  TORN_EV_PROC_EXEC is recorded before
 * the call (after it there is no one left to record it); an exec that fails
 * is followed by a second PROC_EXEC whose result is -errno.
 *
 * vfork: its child may only exec or _exit (the exec wrappers below work
 * there: they take the lock only for the event), but it runs on the
 * parent's memory and TLS, where the shim caches its pid (shim_pid).  A
 * small stub (x86-64; elsewhere the cache is off, see shim_ring.c) marks
 * the thread as "in vfork" around the system call, so that the child asks
 * the kernel for its pid and takes nothing from the cache.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim_int.h"

extern char **environ;

/* ==========================================================================
 * 1. FORK
 * ========================================================================== */

SHIM_EXPORT pid_t fork(void)
{
	struct shim_call c;
	struct torn_event ev = { .type = TORN_EV_PROC_FORK };
	pid_t pid;

	if (!shim_begin(&c))
		return SHIM_REAL(fork)();
	shim_lock(&c.lk);
	errno = c.errno0;
	pid = SHIM_REAL(fork)();
	c.err = errno;
	if (pid == 0) {
		shim_after_fork_child();
		shim_table_adopt();
		shim_finish(&c);        /* the signal mask only: the lock is the parent's */
		errno = c.err;
		return 0;
	}
	ev.result = pid < 0 ? -(int64_t)c.err : pid;
	shim_emit(&ev);
	shim_finish(&c);
	errno = c.err;
	return pid;
}

/* vfork cannot be a C wrapper: the child would return from it and clobber
 * the frame the parent then returns through.  The stub keeps the return
 * address in a register across the call (as glibc's own vfork does) and
 * counts shim_t_vfork up before it; the parent counts it down when it
 * resumes; the child leaves it up (it is the parent's memory).  A counter,
 * not a flag: a vfork child may vfork again. */
#define SHIM_STR_(x) #x
#define SHIM_STR(x)  SHIM_STR_(x)

#if defined(__x86_64__)
__attribute__((used)) long shim_vfork_failed(long neg_errno)
{
	errno = (int)-neg_errno;
	return -1;
}

__asm__(".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	"vfork:\n"
	"	movq shim_t_vfork@gottpoff(%rip), %rcx\n"
	"	addl $1, %fs:(%rcx)\n"
	"	popq %rdi\n"                   /* the return address: not on the shared stack */
	"	movl $" SHIM_STR(SYS_vfork) ", %eax\n"
	"	syscall\n"
	"	pushq %rdi\n"
	"	testl %eax, %eax\n"
	"	je 1f\n"                       /* the child: the mark stays */
	"	movq shim_t_vfork@gottpoff(%rip), %rcx\n"
	"	subl $1, %fs:(%rcx)\n"
	"	cmpq $-4095, %rax\n"
	"	jae 2f\n"
	"1:	ret\n"
	"2:	movq %rax, %rdi\n"
	"	jmp shim_vfork_failed\n"
	".size vfork, .-vfork\n");
#endif

/* ==========================================================================
 * 2. THE ENVIRONMENT OF A NEW IMAGE
 * ========================================================================== */

/* Room for the variables shim_exec_env may add, and a bound on the size of
 * the array kept on the stack (an environment larger than that is passed
 * on as the program gave it). */
#define SHIM_ENV_EXTRA 8
#define SHIM_ENV_MAX   16384

static size_t vec_count(char *const v[])
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Record PROC_EXEC: path2 = the program (absolute when it can be
 * resolved, else as given), text = argv joined by spaces. */
static void note_exec(const char *prog, char *const argv[], int64_t result)
{
	struct shim_lock lk;
	struct torn_event ev = { .type = TORN_EV_PROC_EXEC };
	struct shim_path p;
	char text[TORN_TEXT_MAX];
	size_t n = 0;

	for (size_t i = 0; argv && argv[i] && n < sizeof(text); i++) {
		size_t l = strlen(argv[i]);

		if (i > 0)
			text[n++] = ' ';
		if (l > sizeof(text) - n)
			l = sizeof(text) - n;
		memcpy(text + n, argv[i], l);
		n += l;
	}
	ev.result = result;
	ev.text = text;
	ev.text_len = (uint32_t)n;
	if (prog && strchr(prog, '/') && shim_path_resolve(&p, AT_FDCWD, prog, 1) == 0) {
		ev.path2 = p.abs;
		ev.path2_len = (uint32_t)p.len;
	} else if (prog) {
		ev.path2 = prog;
		ev.path2_len = (uint32_t)strnlen(prog, TORN_PATH_MAX);
	}
	shim_lock(&lk);
	shim_emit(&ev);
	shim_unlock(&lk);
}

enum exec_kind { EXEC_VE, EXEC_VPE };

/* The one path every exec takes: fix the environment, record, exec. */
static int exec_common(enum exec_kind kind, const char *prog, char *const argv[],
		       char *const envp[])
{
	int saved = errno, r, err;
	size_t n;

	if (!shim_active() || shim_in_lock())
		goto plain;
	n = vec_count(envp);
	if (n > SHIM_ENV_MAX)
		goto plain;
	{
		char *env[n + SHIM_ENV_EXTRA];

		if (shim_exec_env(envp, env, n + SHIM_ENV_EXTRA) < 0)
			goto plain;
		note_exec(prog, argv, 0);
		shim_before_exec();
		errno = saved;
		r = kind == EXEC_VE ? SHIM_REAL(execve)(prog, argv, env) :
				      SHIM_REAL(execvpe)(prog, argv, env);
		err = errno;
		note_exec(prog, argv, -(int64_t)err);
		errno = err;
		return r;
	}
plain:
	errno = saved;
	return kind == EXEC_VE ? SHIM_REAL(execve)(prog, argv, envp) :
				 SHIM_REAL(execvpe)(prog, argv, envp);
}

/* ==========================================================================
 * 3. EXEC
 * ========================================================================== */

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return exec_common(EXEC_VE, path, argv, envp);
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	return exec_common(EXEC_VE, path, argv, environ);
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	return exec_common(EXEC_VPE, file, argv, environ);
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return exec_common(EXEC_VPE, file, argv, envp);
}

/* The list forms: count the arguments, then copy them into an array on the
 * stack (as glibc does). */
#define SHIM_EXECL_ARGV(arg, ap, argv, envp_out)                         \
	size_t argc_ = 1;                                                \
	va_list cp_;                                                     \
	va_copy(cp_, ap);                                                \
	while (va_arg(cp_, const char *))                                \
		argc_++;                                                 \
	va_end(cp_);                                                     \
	if (argc_ > SHIM_ENV_MAX) {                                      \
		va_end(ap);                                              \
		errno = E2BIG;                                           \
		return -1;                                               \
	}                                                                \
	char *argv[argc_ + 1];                                           \
	argv[0] = (char *)(arg);                                         \
	for (size_t i_ = 1; i_ <= argc_; i_++)                           \
		argv[i_] = va_arg(ap, char *);                           \
	envp_out;                                                        \
	va_end(ap)

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	SHIM_EXECL_ARGV(arg, ap, argv, (void)0);
	return exec_common(EXEC_VE, path, argv, environ);
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	SHIM_EXECL_ARGV(arg, ap, argv, (void)0);
	return exec_common(EXEC_VPE, file, argv, environ);
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	va_list ap;

	va_start(ap, arg);
	SHIM_EXECL_ARGV(arg, ap, argv, envp = va_arg(ap, char *const *));
	return exec_common(EXEC_VE, path, argv, envp);
}

/* ==========================================================================
 * 4. POSIX_SPAWN
 * ==========================================================================
 *
 * Recorded as TORN_EV_PROC_FORK (result = the child's pid); the new image
 * is the shim's again (fixed environment).  The lock is not held across the
 * spawn: glibc gives the child the caller's signal mask, which under the
 * lock has every signal blocked.  The child's events may therefore come
 * before the PROC_FORK recorded here.
 */
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

static int spawn_common(spawn_fn real, pid_t *pid, const char *prog,
			const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
			char *const argv[], char *const envp[])
{
	struct shim_call c;
	struct torn_event ev = { .type = TORN_EV_PROC_FORK };
	pid_t child = -1;
	size_t n;
	int r;

	if (!shim_begin(&c))
		return real(pid, prog, fa, attr, argv, envp);
	n = vec_count(envp);
	if (n > SHIM_ENV_MAX)
		return real(pid, prog, fa, attr, argv, envp);
	{
		char *env[n + SHIM_ENV_EXTRA];

		if (shim_exec_env(envp, env, n + SHIM_ENV_EXTRA) < 0) {
			errno = c.errno0;
			return real(pid, prog, fa, attr, argv, envp);
		}
		errno = c.errno0;
		r = real(&child, prog, fa, attr, argv, env);
		c.err = errno;
	}
	if (r == 0 && pid)
		*pid = child;
	if (r == 0) {
		shim_lock(&c.lk);
		ev.result = child;
		shim_emit(&ev);
		shim_finish(&c);
	}
	errno = c.err;
	return r;
}

SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(SHIM_REAL(posix_spawn), pid, path, fa, attr, argv, envp);
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(SHIM_REAL(posix_spawnp), pid, file, fa, attr, argv, envp);
}
