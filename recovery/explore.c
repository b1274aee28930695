/*
 * recovery/explore.c - the checker runner (see explore.h for the contract).
 *
 * Sections:
 *   1. Small helpers: time, robust I/O, rmtree, file hash, outcome names
 *   2. The dedup set (open addressing over XXH3-128 hashes)
 *   3. The checker command: argv (shell or direct), environment, spawn
 *   3b. The fork server of the in-process checker (--engine): requests,
 *      the children, which are workers in explore_run (a child that passes
 *      a state checks the next one it is sent)
 *   4. Jobs: start (the spawner thread, or the fork server), the workers
 *      (reuse after a pass; a non-pass of a reused one checked again in a
 *      fresh child), wait (pidfd poll), classify, collect output; the
 *      queue of materialised states and the pool of reusable state
 *      directories
 *   5. explore_run: enumerate, dedup, shard, run, report
 *   6. explore_runner: one state at a time (minimize)
 *   7. Reports, options implied by an id
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "explore.h"

extern char **environ;

/* ==========================================================================
 * 1. SMALL HELPERS
 * ========================================================================== */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static ssize_t robust_pread(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR) {
		if (rmdir(path) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* A checker may leave directories without write or search permission:
 * give them back before removing the tree. */
static int fix_perm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (sb->st_mode & 07777) | S_IRWXU);
	return 0;
}

int explore_rmtree(const char *path)
{
	int rc = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	if (rc == 0)
		return 0;
	nftw(path, fix_perm, 16, FTW_PHYS);
	rc = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (rc < 0 && errno == ENOENT)
		return 0;
	return rc == 0 ? 0 : (rc < 0 ? -errno : rc);
}

int explore_file_hash(const char *path, char hex[33])
{
	XXH3_state_t *st = NULL;
	char buf[65536];
	int fd = -1, rc = 0;
	off_t off = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	st = XXH3_createState();
	if (!st || XXH3_128bits_reset(st) != XXH_OK) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = robust_pread(fd, buf, sizeof(buf), off);

		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		XXH3_128bits_update(st, buf, (size_t)n);
		off += n;
	}
	XXH128_hash_t h = XXH3_128bits_digest(st);
	snprintf(hex, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
out:
	if (st)
		XXH3_freeState(st);
	if (fd >= 0)
		close(fd);
	return rc;
}

static const char *const outcome_names[EXPLORE_NOUTCOMES] = {
	"pass", "fail", "crash", "hang",
};

const char *explore_outcome_name(enum explore_outcome o)
{
	return (unsigned)o < EXPLORE_NOUTCOMES ? outcome_names[o] : NULL;
}

int explore_outcome_parse(const char *name)
{
	for (int i = 0; i < EXPLORE_NOUTCOMES; i++)
		if (!strcmp(name, outcome_names[i]))
			return i;
	return -EINVAL;
}

void explore_opts_default(struct explore_opts *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->jobs = n > 0 ? (unsigned)n : 1;
	o->timeout_s = 30;
	o->output_lines = 20;
	o->total = -1;
}

const char *explore_default_scratch(void)
{
	struct stat sb;
	const char *t;

	if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";
	t = getenv("TMPDIR");
	if (t && *t)
		return t;
	return "/tmp";
}

void explore_result_free(struct explore_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->noutput; i++)
		free(r->output[i]);
	free(r->output);
	r->output = NULL;
	r->noutput = 0;
	free(r->reason);
	r->reason = NULL;
}

/* ==========================================================================
 * 2. THE DEDUP SET
 *
 * Open addressing with linear probing over the 128-bit content hashes; the
 * all-zero hash (which XXH3 practically never yields) is kept aside since it
 * marks an empty slot.  16 bytes per slot, load kept under 3/4.
 * ========================================================================== */

struct hset {
	torn_hash *slot;
	size_t cap, n;
	int have_zero;
};

static int hset_grow(struct hset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	torn_hash *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		torn_hash h = s->slot[i];

		if (!h.lo && !h.hi)
			continue;
		size_t j = (size_t)h.lo & (cap - 1);
		while (n[j].lo || n[j].hi)
			j = (j + 1) & (cap - 1);
		n[j] = h;
	}
	free(s->slot);
	s->slot = n;
	s->cap = cap;
	return 0;
}

/* 1 when @h was added, 0 when it was there already, -ENOMEM. */
static int hset_add(struct hset *s, torn_hash h)
{
	if (!h.lo && !h.hi) {
		if (s->have_zero)
			return 0;
		s->have_zero = 1;
		return 1;
	}
	if ((s->n + 1) * 4 >= s->cap * 3) {
		int rc = hset_grow(s);

		if (rc < 0)
			return rc;
	}
	size_t j = (size_t)h.lo & (s->cap - 1);
	while (s->slot[j].lo || s->slot[j].hi) {
		if (s->slot[j].lo == h.lo && s->slot[j].hi == h.hi)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->slot[j] = h;
	s->n++;
	return 1;
}

static void hset_free(struct hset *s)
{
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* ==========================================================================
 * 3. THE CHECKER COMMAND
 *
 * The contract is `/bin/sh -c CMD`.  Like make, a command that is a plain
 * list of words (no quoting, expansion, redirection or shell keyword) is
 * exec'ed directly instead: the shell would only split it and exec the same
 * program, and skipping it halves the exec cost per state.
 * ========================================================================== */

struct checker {
	char **argv;        /* NULL-terminated */
	char *words;        /* storage of the split words */
	int direct;         /* argv[0] is searched in PATH, no shell */
	char **env;         /* environ without our variables (NULL-terminated) */
	size_t nenv;
	char *trace;        /* absolute trace path, or NULL */
	const char *cmd;
};

static int simple_word_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_./:,@%+-=", c) != NULL;
}

static int is_shell_word(const char *w)
{
	static const char *const kw[] = {
		"!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if",
		"in", "then", "until", "while", ".", ":", "break", "continue", "eval", "exec",
		"exit", "export", "readonly", "return", "set", "shift", "times", "trap", "unset",
		"cd", "alias", "unalias", "command", "type", "hash", "ulimit", "umask", "wait",
		"read", "getopts", "jobs", "fg", "bg", "local", "source", "pwd", NULL,
	};
	for (int i = 0; kw[i]; i++)
		if (!strcmp(w, kw[i]))
			return 1;
	return 0;
}

static void checker_free(struct checker *c)
{
	free(c->argv);
	free(c->words);
	free(c->env);
	free(c->trace);
	memset(c, 0, sizeof(*c));
}

static int env_ours(const char *e)
{
	static const char *const ours[] = { "TORN_STATE=", "TORN_MARKS=", "TORN_STATE_ID=",
					    "TORN_TRACE=", "PWD=", NULL };
	for (int i = 0; ours[i]; i++)
		if (!strncmp(e, ours[i], strlen(ours[i])))
			return 1;
	return 0;
}

static int checker_init(struct checker *c, const char *cmd, const char *trace)
{
	size_t n = 0, nw = 0, len = strlen(cmd);
	int simple = len > 0;
	char *p;

	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	for (size_t i = 0; i < len; i++)
		if (cmd[i] != ' ' && cmd[i] != '\t' && !simple_word_char((unsigned char)cmd[i]))
			simple = 0;
	c->words = strdup(cmd);
	c->argv = calloc(len / 2 + 4, sizeof(char *));
	if (!c->words || !c->argv)
		goto nomem;
	if (simple) {
		for (p = strtok(c->words, " \t"); p; p = strtok(NULL, " \t"))
			c->argv[nw++] = p;
		/* An assignment or a builtin first: only the shell knows. */
		if (!nw || strchr(c->argv[0], '=') || is_shell_word(c->argv[0]))
			simple = 0;
	}
	if (!simple) {
		c->argv[0] = "/bin/sh";
		c->argv[1] = "-c";
		c->argv[2] = (char *)cmd;
		c->argv[3] = NULL;
	}
	c->direct = simple;
	while (environ && environ[n])
		n++;
	c->env = calloc(n + 7, sizeof(char *));
	if (!c->env)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if (!env_ours(environ[i]))
			c->env[c->nenv++] = environ[i];
	if (trace) {
		c->trace = realpath(trace, NULL);
		if (!c->trace)
			c->trace = strdup(trace);
		if (!c->trace)
			goto nomem;
	}
	return 0;
nomem:
	checker_free(c);
	return -ENOMEM;
}

/* A job's environment: the checker's base, then 5 per-state variables
 * (freed and replaced each time) and the NULL. */
static char **checker_env_new(const struct checker *c)
{
	char **e = calloc(c->nenv + 6, sizeof(char *));

	if (e)
		memcpy(e, c->env, c->nenv * sizeof(char *));
	return e;
}

static void checker_env_free(const struct checker *c, char **env)
{
	if (!env)
		return;
	for (size_t i = c->nenv; i < c->nenv + 6; i++)
		free(env[i]);
	free(env);
}

static int checker_env(const struct checker *c, char **env, const char *dir, const char *marks,
		       const char *id)
{
	char **e = env + c->nenv;

	for (int i = 0; i < 6; i++) {
		free(e[i]);
		e[i] = NULL;
	}
	if (asprintf(&e[0], "TORN_STATE=%s", dir) < 0 ||
	    asprintf(&e[1], "TORN_MARKS=%s", marks ? marks : "/dev/null") < 0 ||
	    asprintf(&e[2], "TORN_STATE_ID=%s", id ? id : "") < 0 ||
	    asprintf(&e[3], "TORN_TRACE=%s", c->trace ? c->trace : "") < 0 ||
	    asprintf(&e[4], "PWD=%s", dir) < 0) {
		for (int i = 0; i < 6; i++) {
			free(e[i]);
			e[i] = NULL;
		}
		return -ENOMEM;
	}
	return 0;
}

/* Start the checker in @dir with stdout+stderr to @outfd, in a process
 * group of its own (so that a hang can be killed whole).  vfork keeps the
 * cost independent of torn's own memory size, like posix_spawn, but with
 * the few system calls the checker needs: posix_spawn's child queries and
 * resets the handler of every signal (64 sigaction calls per state), and
 * maps a stack for itself.  Here every signal is blocked across the vfork,
 * so no handler of ours runs in the child (it shares our memory); exec
 * resets the handlers, and the child resets the four whose disposition an
 * exec would keep.  A failure before or at exec comes back through
 * @cerr, which the child shares with us until it execs or exits. */
static int checker_spawn(const struct checker *c, char **env, const char *dir, int outfd,
			 pid_t *pid)
{
	static const int dfl[] = { SIGINT, SIGTERM, SIGPIPE, SIGCHLD };
	volatile int cerr = 0;
	sigset_t all, old;
	pid_t p;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	p = vfork();
	if (p == 0) {
		struct sigaction sa;
		sigset_t none;
		int fd;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (size_t i = 0; i < sizeof(dfl) / sizeof(*dfl); i++)
			sigaction(dfl[i], &sa, NULL);
		fd = open("/dev/null", O_RDONLY);
		if (setpgid(0, 0) < 0 || fd < 0 || (fd != 0 && dup2(fd, 0) < 0) ||
		    dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0 || chdir(dir) < 0) {
			cerr = errno;
			_exit(127);
		}
		closefrom(3);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (c->direct)
			execvpe(c->argv[0], c->argv, env);
		else
			execve(c->argv[0], c->argv, env);
		cerr = errno;
		_exit(127);
	}
	if (p < 0)
		cerr = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p > 0 && cerr) {
		/* It never ran the checker: reap it here. */
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		p = 0;
	}
	*pid = p > 0 ? p : 0;
	return cerr ? -cerr : 0;
}

struct fs_req {
	char dir[PATH_MAX + 32];
	char marks[PATH_MAX + 40];
};

static ssize_t req_recv(int sock, struct fs_req *rq, int *fds, unsigned nfds);

/* Default signal dispositions, nothing blocked: what an exec'ed checker
 * starts with, before each state a worker checks. */
static void child_signals(void)
{
	sigset_t none;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The child of the in-process checker: in @dir, in a process group of its
 * own, stdout+stderr to @outfd, default signal dispositions; exits with
 * @fn's result (126 when it cannot even be set up).
 *
 * With @wsock (a worker, explore_run's fork server children; else -1), a
 * state that passes does not end the child: it answers one byte "p" on
 * @wsock and checks the next state torn sends there (struct fs_req, its
 * output descriptor attached), until torn closes the socket.  Forking
 * (clone, copy-on-write faults, exit) cost more than the check itself;
 * a worker pays it once for a run of passing states.  Any other result
 * ends the child with it, as without a worker, and torn checks that state
 * again in a fresh child when it was not the worker's first (explore_run,
 * section 4): every finding comes from a pristine copy of the server. */
static void __attribute__((noreturn))
inproc_child(int (*fn)(void *, const char *, const char *), void *arg, const char *dir,
	     const char *marks, int outfd, int wsock)
{
	static struct fs_req rq;
	int nullfd = open("/dev/null", O_RDONLY), rc;

	setpgid(0, 0);
	child_signals();
	if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0 ||
	    chdir(dir) < 0)
		_exit(126);
	/* The worker's socket at 3, everything else closed: the same
	 * descriptors before every state. */
	if (wsock >= 0 && wsock != 3 && dup2(wsock, 3) < 0)
		_exit(126);
	closefrom(wsock >= 0 ? 4 : 3);
	rc = fn(arg, dir, marks);
	while (wsock >= 0 && rc == 0) {
		ssize_t n;

		if (send(3, "p", 1, MSG_NOSIGNAL) != 1)
			_exit(0);
		n = req_recv(3, &rq, &outfd, 1);
		if (n == 0)
			_exit(0);    /* torn is done with this worker */
		if (n < 0 || outfd < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0 ||
		    chdir(rq.dir) < 0)
			_exit(126);
		/* What the last state's check left open goes, with outfd.
		 * The signal dispositions are the server's still: @fn (the
		 * bundled engines' check) changes none, and a state that
		 * did and then failed is checked again in a fresh child. */
		closefrom(4);
		rc = fn(arg, rq.dir, rq.marks);
	}
	_exit(rc);
}

/* The in-process checker (opts.check_fn) without a fork server: a forked
 * child of torn runs it.  Same contract as checker_spawn. */
static int checker_fork(const struct explore_opts *o, const char *dir, const char *marks,
			int outfd, pid_t *pid)
{
	pid_t p = fork();

	if (p < 0)
		return -errno;
	if (p == 0)
		inproc_child(o->check_fn, o->check_arg, dir, marks, outfd, -1);
	setpgid(p, p); /* the child does it too: whichever runs first */
	*pid = p;
	return 0;
}

/* ---- The fork server (explore.h) ----
 * Requests on a SOCK_SEQPACKET pair: torn sends a struct fs_req with the
 * output descriptor attached (SCM_RIGHTS), and a worker's socket after it
 * when the child is to be a worker (inproc_child); the server clones a
 * child with CLONE_PARENT (torn's child, not the server's) and answers
 * with its pid or -errno as a long.  One request at a time (fs->mu).
 * A request is its two strings only, each up to its NUL (req_send): the
 * whole struct was 8 KB to copy through the socket for a 60-byte path. */
struct explore_forkserver {
	int sock;                    /* torn's end */
	pid_t pid;
	int broken;                  /* the server cannot clone: fork from torn */
	pthread_mutex_t mu;
};

/* Send @dir and @marks with @nfds descriptors @fds attached: 0 or -errno. */
static int req_send(int sock, const char *dir, const char *marks, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	size_t dl = strlen(dir) + 1, ml = strlen(marks) + 1;
	struct iovec iov[2] = { { (void *)dir, dl }, { (void *)marks, ml } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cm.buf,
			     .msg_controllen = CMSG_SPACE(nfds * sizeof(int)) };
	struct cmsghdr *c;
	ssize_t n;

	if (dl > sizeof(((struct fs_req *)0)->dir) || ml > sizeof(((struct fs_req *)0)->marks))
		return -ENAMETOOLONG;
	memset(cm.buf, 0, sizeof(cm.buf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(dl + ml) ? 0 : -EPIPE;
}

/* Receive a request into @rq, up to @nfds descriptors into @fds (-1 when
 * absent; closed on a malformed request): its size, 0 at EOF, or -errno. */
static ssize_t req_recv(int sock, struct fs_req *rq, int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	char buf[sizeof(*rq)];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	ssize_t n;
	size_t dl;

	for (unsigned i = 0; i < nfds; i++)
		fds[i] = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		unsigned got = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		for (unsigned i = 0; i < got; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (i < nfds)
				fds[i] = fd;
			else
				close(fd);
		}
	}
	/* "DIR\0MARKS\0", each within its field */
	dl = strnlen(buf, (size_t)n);
	if (fds[0] < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || dl + 1 >= (size_t)n ||
	    dl >= sizeof(rq->dir) || buf[n - 1] || (size_t)n - dl - 1 > sizeof(rq->marks)) {
		for (unsigned i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		fds[0] = -1;
		return -EBADMSG;
	}
	memcpy(rq->dir, buf, dl + 1);
	memcpy(rq->marks, buf + dl + 1, (size_t)n - dl - 1);
	return n;
}

static void __attribute__((noreturn))
fs_serve(int sock, pid_t torn, int (*fn)(void *, const char *, const char *), void *arg)
{
	static struct fs_req rq;

	/* Gone with torn: the parent-death signal, or EOF on the socket. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != torn)
		_exit(0);
	/* What exec does for an exec'ed checker: a signal with a handler
	 * (torn's, or a test harness's SIGSEGV handler) gets the default
	 * action back, an ignored one stays ignored.  Once, here: every
	 * child inherits it. */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
			continue;
		if ((sa.sa_flags & SA_SIGINFO) ||
		    (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN))
			signal(sig, SIG_DFL);
	}
	/* ^C reaches torn's process group: torn handles it and closes the
	 * socket; the children reset these (inproc_child). */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	for (;;) {
		int fds[2];   /* outfd, the worker's socket (or -1) */
		ssize_t n = req_recv(sock, &rq, fds, 2);
		long reply;

		if (n == 0 || (n < 0 && n != -EBADMSG))
			_exit(0);
		if (n < 0) {
			reply = -EBADMSG;
		} else {
			/* A fork whose child is torn's (exit signal: the
			 * server's own, SIGCHLD). */
			reply = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), NULL, NULL,
					NULL, NULL);
			if (reply == 0)
				inproc_child(fn, arg, rq.dir, rq.marks, fds[0], fds[1]);
			if (reply < 0)
				reply = -errno;
		}
		for (unsigned i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (write(sock, &reply, sizeof(reply)) != (ssize_t)sizeof(reply))
			_exit(1);
	}
}

int explore_forkserver_start(int (*fn)(void *arg, const char *dir, const char *marks),
			     void *arg, struct explore_forkserver **out)
{
	struct explore_forkserver *fs = calloc(1, sizeof(*fs));
	pid_t torn = getpid(), p;
	int sv[2] = { -1, -1 }, rc;

	*out = NULL;
	if (!fs)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		goto fail;
	}
	fflush(NULL);   /* nothing buffered twice */
	p = fork();
	if (p < 0) {
		rc = -errno;
		goto fail;
	}
	if (p == 0) {
		close(sv[0]);
		fs_serve(sv[1], torn, fn, arg);
	}
	close(sv[1]);
	fs->sock = sv[0];
	fs->pid = p;
	pthread_mutex_init(&fs->mu, NULL);
	*out = fs;
	return 0;
fail:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	free(fs);
	return rc;
}

void explore_forkserver_stop(struct explore_forkserver *fs)
{
	if (!fs)
		return;
	close(fs->sock);
	while (waitpid(fs->pid, NULL, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_destroy(&fs->mu);
	free(fs);
}

/* Send a request for a child in @dir, a worker on @wsock unless it is -1
 * (caller holds fs->mu): 0 or -errno. */
static int fs_send(struct explore_forkserver *fs, const char *dir, const char *marks, int outfd,
		   int wsock)
{
	int fds[2] = { outfd, wsock }, rc;

	if (fs->broken)
		return -EPIPE;
	rc = req_send(fs->sock, dir, marks, fds, wsock >= 0 ? 2 : 1);
	if (rc < 0 && rc != -ENAMETOOLONG)
		fs->broken = 1;
	return rc;
}

/* The answer to the oldest request: 0 with *@pid (now in a process group
 * of its own), or -errno: the server cannot clone (valgrind refuses
 * CLONE_PARENT) or is gone, and torn forks from now on, same children. */
static int fs_recv(struct explore_forkserver *fs, pid_t *pid, int nonblock)
{
	long reply = -EPIPE;
	ssize_t n;

	do
		n = recv(fs->sock, &reply, sizeof(reply), nonblock ? MSG_DONTWAIT : 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && nonblock && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;   /* not answered yet */
	if (n != (ssize_t)sizeof(reply))
		reply = -EPIPE;
	if (reply < 0) {
		fs->broken = 1;
		return (int)reply;
	}
	*pid = (pid_t)reply;
	setpgid(*pid, *pid); /* the child does it too: whichever runs first */
	return 0;
}

/* Both, synchronously (the runner, one state at a time). */
static int forkserver_spawn(struct explore_forkserver *fs, const char *dir, const char *marks,
			    int outfd, pid_t *pid)
{
	int rc;

	pthread_mutex_lock(&fs->mu);
	rc = fs_send(fs, dir, marks, outfd, -1);
	if (rc == 0)
		rc = fs_recv(fs, pid, 0);
	pthread_mutex_unlock(&fs->mu);
	return rc;
}

/* ==========================================================================
 * 4. JOBS
 * ========================================================================== */

/* A slot's life: FREE -> (job_start) SPAWNING -> (job_spawn) RUNNING or
 * BROKEN (the spawn failed) -> (job_finish / kill_all) FREE.  With the
 * spawner thread, SPAWNING jobs belong to it: the main thread touches
 * neither the job's inputs nor its outputs until it sees RUNNING or
 * BROKEN under the lock.  With a fork server (explore_run) there is no
 * spawner: a request is sent to the server (FORKING, in the queue fsq)
 * and reap() turns the server's answers into RUNNING jobs. */
enum job_state { J_FREE = 0, J_SPAWNING, J_TAKEN, J_RUNNING, J_BROKEN, J_FORKING };

struct job {
	enum job_state state;
	pid_t    pid;
	int      pidfd;
	int      outfd;              /* the output file, until spawned */
	int      spawn_err;          /* BROKEN: -errno of the spawn */
	char   **env;                /* this slot's environment (checker_env_new) */
	int      hung;
	uint64_t ordinal;
	uint64_t point;
	char    *id;
	double   start, deadline;
	int      own_marks;          /* marks[] is this state's own file (else shared) */
	int      own_out;            /* out[] is this state's own file (else the slot's) */
	unsigned gen;                /* bumped by each job_start (the spawner's check) */
	int      exited;             /* the spawner saw its checker exit */
	int      wk;                 /* 1 + the index of its worker (r->wk), 0: none */
	int      reused;             /* that worker had passed states before */
	const struct crash_ackloss *ack;  /* crash_state_ackloss of its state */
	int      ack_ref;            /* the reference state at ack's point */
	int      sd;                 /* its directory's record (run.sd), or -1 */
	char     dir[PATH_MAX + 32]; /* SCRATCH/sN */
	char     marks[PATH_MAX + 40];
	char     out[PATH_MAX + 40];
};

/* A worker: a child of the fork server that, after each state it passes,
 * checks the next one torn sends it (inproc_child), until it has passed
 * WORKER_STATES (a bound on what the checks may leak) or anything else
 * happens.  At most opts.jobs, each running one job or idle.  FORKING:
 * asked of the server (its job is FORKING too); BUSY: running r->jobs[]'s
 * job whose wk names it; IDLE: waiting for a state. */
enum wk_state { W_NONE = 0, W_FORKING, W_BUSY, W_IDLE };
#define WORKER_STATES 256

struct worker {
	enum wk_state state;
	pid_t    pid;
	int      pidfd;
	int      sock;               /* torn's end of its socketpair */
	unsigned passed;             /* states it passed */
};

/* A state materialised, waiting for a free slot. */
struct pending {
	char     dir[PATH_MAX + 32];
	char     marks[PATH_MAX + 40];
	int      own_marks;
	char    *id;
	uint64_t point, ordinal;
	const struct crash_ackloss *ack;
	int      ack_ref;
	int      sd;
};

/* A state directory of explore_run and what torn last wrote there: while
 * inotify reports nothing on it or its entries (the checker may change
 * anything) and its checker's process group is gone, it holds exactly the
 * state in snap, and the next state is written over it page by page
 * (crash_state_write_delta).  Any event, or a queue overflow, makes it
 * dirty: rewritten whole (crash_state_rewrite) as before. */
struct sdir {
	int used;
	int dirty;
	struct crash_snap *snap;
	pid_t pgid;                  /* its last checker's group (0: none) */
	unsigned nwd;
	int wd[CRASH_SNAP_MAX + 1];  /* the directory and its entries */
};

#define SPAWNERS_MAX 4

/* What the loop shares between explore_run and the runner. */
struct run {
	const struct explore_opts *o;
	struct checker chk;
	char scratch[PATH_MAX];      /* our private torn-XXXXXX */
	struct job *jobs;
	unsigned nslots;             /* 2 * opts.jobs: a started job waits in one */
	unsigned njobs;              /* slots in use */
	/* The spawner threads (explore_run): vfork suspends the calling
	 * thread until the child has exec'ed, which, with the cores busy
	 * running checkers, is a long wait; the main thread materialises the
	 * next state meanwhile.  One per job up to SPAWNERS_MAX: with one, a
	 * checker that exited while the thread waited for the other's exec
	 * left its core idle until then (bench/explore.sh: 0.86 s of a core
	 * idle in a 4 s run, the main thread asleep and one checker starting).
	 * efd wakes the main thread's poll. */
	int async;
	pthread_t spawner[SPAWNERS_MAX];
	unsigned nspawners;
	pthread_mutex_t mu;
	int stop;
	int efd;
	int wfd;                     /* wakes the spawner (eventfd) */
	/* explore_run: states materialised ahead, waiting for a slot (the
	 * oldest first: a ring of up to opts.jobs), and the directories of
	 * passed states, kept to be renamed and rewritten for later states
	 * (crash_state_rewrite: no rmtree, no mkdir, file pages reused). */
	struct pending *pend;
	unsigned pend_head, pend_n;
	char (*pool)[PATH_MAX + 32];
	int *pool_sd;
	unsigned npool;
	/* The records of the directories in the pool, queued or in use by a
	 * job, and the inotify instance watching them (-1: none, every
	 * reused directory is rewritten whole). */
	struct sdir *sd;
	unsigned nsd;
	int ifd;
	/* The fork server, asynchronously (explore_run with one): the
	 * FORKING jobs in the order of their requests. */
	int fs_async;
	unsigned *fsq, fsq_head, fsq_n;
	struct worker *wk;           /* [opts.jobs], with fs_async */
	int keep_any;
	int keep_dirs;               /* never remove a state dir (explore_check_dir) */
	/* explore_run */
	struct explore_report *rep;
	struct explore_marks marks;
	uint8_t *marks_done;         /* [k]: SCRATCH/mK holds the first k marks */
	struct hset seen;
	/* Applied-set keys (crash_applied_key + marks) of the states seen: a
	 * state with a known one has known files, no need to build and hash. */
	struct crash_applied *applied;
	struct hset seen_applied;
	size_t fcap;
	double t0, last_progress;
	/* runner: the result of the last job */
	struct explore_result *single;
	/* the first error */
	int err;
	char *errbuf;
	size_t errlen;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* SIGINT/SIGTERM set a flag instead of killing torn, so that the checkers
 * (in process groups of their own: a terminal's ^C does not reach them)
 * are killed and the scratch dir removed.  No SA_RESTART: poll returns. */
struct sigsave {
	struct sigaction sint, sterm;
};

static void signals_catch(struct sigsave *save)
{
	struct sigaction sa;

	interrupted = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &save->sint);
	sigaction(SIGTERM, &sa, &save->sterm);
}

static void signals_restore(const struct sigsave *save)
{
	sigaction(SIGINT, &save->sint, NULL);
	sigaction(SIGTERM, &save->sterm, NULL);
}

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, min;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1; cp = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		need = 2; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (need >= n)
		return 0;
	for (size_t k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* Turn invalid UTF-8 and control characters into '?', so that the line
 * can go into JSON and XML as it is. */
static char *sanitize_line(const char *s, size_t n)
{
	char *out = malloc(n + 1), *d = out;
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t k = utf8_len((const unsigned char *)s + i, n - i);

		if (k == 1 && ((c < 0x20 && c != '\t') || c == 0x7f))
			k = 0;
		if (!k) {
			*d++ = '?';
			i++;
			continue;
		}
		memcpy(d, s + i, k);
		d += k;
		i += k;
	}
	*d = '\0';
	return out;
}

/* The last @max lines of the file @path (at most its last 16 KiB). */
static int read_tail(const char *path, unsigned max, struct explore_result *res)
{
	char buf[16384];
	struct stat sb;
	int fd = -1, rc = 0;
	ssize_t n;
	off_t off;

	res->output = NULL;
	res->noutput = 0;
	if (!max)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out;
	}
	off = sb.st_size > (off_t)sizeof(buf) ? sb.st_size - (off_t)sizeof(buf) : 0;
	n = robust_pread(fd, buf, sizeof(buf), off);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	size_t end = (size_t)n;
	if (end && buf[end - 1] == '\n')
		end--;
	if (!end && sb.st_size == 0)
		goto out;
	/* Walk back over @max line starts. */
	size_t starts[64], ns = 0, cap = max < 64 ? max : 64;
	size_t i = end;
	while (ns < cap) {
		size_t s = i;
		while (s > 0 && buf[s - 1] != '\n')
			s--;
		if (s == 0 && off > 0 && ns > 0)
			break;              /* a partial first line: leave it out */
		starts[ns++] = s;
		if (s == 0)
			break;
		i = s - 1;
	}
	res->output = calloc(ns ? ns : 1, sizeof(char *));
	if (!res->output) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < ns; k++) {
		size_t s = starts[ns - 1 - k], e = s;
		while (e < end && buf[e] != '\n')
			e++;
		res->output[k] = sanitize_line(buf + s, e - s);
		if (!res->output[k]) {
			rc = -ENOMEM;
			goto out;
		}
		res->noutput++;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The checker runs in the state directory: a relative path in its first
 * word ("./check.sh") is looked up there, which is rarely what was meant. */
static const char *relative_hint(const char *cmd)
{
	const char *p = cmd;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '/')
		return "";
	for (const char *q = p; *q && *q != ' ' && *q != '\t'; q++)
		if (*q == '/')
			return " (the checker runs in the state's directory: give its path "
			       "as an absolute one)";
	return "";
}

static void side_path(char *buf, size_t len, const char *dir, const char *ext)
{
	snprintf(buf, len, "%s.%s", dir, ext);
}

static void job_clear(struct job *j)
{
	char **env = j->env;
	unsigned gen = j->gen;

	if (j->pidfd >= 0)
		close(j->pidfd);
	if (j->outfd >= 0)
		close(j->outfd);
	free(j->id);
	memset(j, 0, sizeof(*j));
	j->pidfd = -1;
	j->outfd = -1;
	j->sd = -1;
	j->env = env;
	j->gen = gen;
}

static void job_spawned(const struct run *r, struct job *j, int rc, pid_t pid);

/* Spawn the prepared job @j (either thread): RUNNING or BROKEN. */
static void job_spawn(const struct run *r, struct job *j)
{
	pid_t pid = 0;
	int rc;

	if (r->o->check_fn && r->o->forkserver &&
	    forkserver_spawn(r->o->forkserver, j->dir, j->marks, j->outfd, &pid) == 0)
		rc = 0;
	else if (r->o->check_fn)
		rc = checker_fork(r->o, j->dir, j->marks, j->outfd, &pid);
	else
		rc = checker_spawn(&r->chk, j->env, j->dir, j->outfd, &pid);
	job_spawned(r, j, rc, pid);
}

/* The tail of a spawn (@rc, and @pid when 0): the pidfd, the clock. */
static void job_spawned(const struct run *r, struct job *j, int rc, pid_t pid)
{
	int pidfd = -1;

	if (rc == 0) {
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		/* No pidfd_open (kernels before 5.3, valgrind): reap() polls
		 * the job with waitid instead. */
		if (pidfd < 0 && errno != ENOSYS) {
			rc = -errno;
			kill(-pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			pid = 0;
		}
	}
	close(j->outfd);
	j->outfd = -1;
	j->pid = pid;
	j->pidfd = pidfd;
	j->spawn_err = rc;
	j->start = now_s();
	j->deadline = rc == 0 && r->o->timeout_s > 0 ? j->start + r->o->timeout_s : 0;
}

static void spawner_wake(struct run *r)
{
	uint64_t one = 1;

	if (write(r->wfd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow here. */
	}
}

/* The spawner starts the prepared (SPAWNING) jobs, lowest ordinal first,
 * as long as fewer than opts.jobs checkers run, and watches the running
 * ones: when one exits it starts the next at once, without waiting for
 * the main thread to reap and classify it (the main thread may be busy
 * materialising; the slots are twice the jobs, so that started jobs wait
 * in theirs meanwhile). */
static void *spawner_main(void *arg)
{
	struct run *r = arg;
	unsigned cap = r->nslots;
	struct pollfd pf[cap + 1];
	unsigned idx[cap + 1], gen[cap + 1];
	uint64_t one = 1;
	int notify = 0;

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct job *j = NULL;
		unsigned active = 0, n = 0;
		int nopidfd = 0;

		for (unsigned i = 0; i < cap; i++) {
			struct job *x = &r->jobs[i];

			if (x->state == J_TAKEN || (x->state == J_RUNNING && !x->exited))
				active++;
			if (x->state == J_SPAWNING && (!j || x->ordinal < j->ordinal))
				j = x;
		}
		if (j && active < r->o->jobs) {
			j->state = J_TAKEN;
			/* Another job ready and a free core: a sibling starts it
			 * while this thread waits in vfork. */
			if (r->nspawners > 1 && active + 1 < r->o->jobs)
				for (unsigned i = 0; i < cap; i++)
					if (r->jobs[i].state == J_SPAWNING) {
						spawner_wake(r);
						break;
					}
			pthread_mutex_unlock(&r->mu);
			job_spawn(r, j);
			pthread_mutex_lock(&r->mu);
			j->exited = 0;
			j->state = j->spawn_err ? J_BROKEN : J_RUNNING;
			/* The main thread learns of the exits seen below only now,
			 * the next checker started (see reap). */
			if (write(r->efd, &one, sizeof(one)) < 0) {
				/* The counter cannot overflow here; poll times out anyway. */
			}
			notify = 0;
			continue;
		}
		if (notify) {
			if (write(r->efd, &one, sizeof(one)) < 0) {
				/* As above. */
			}
			notify = 0;
		}
		/* Wait for a checker to exit, or for news from the main thread. */
		for (unsigned i = 0; i < cap; i++) {
			struct job *x = &r->jobs[i];

			if (x->state != J_RUNNING || x->exited)
				continue;
			if (x->pidfd < 0)
				nopidfd = 1;
			pf[n].fd = x->pidfd;
			pf[n].events = POLLIN;
			pf[n].revents = 0;
			idx[n] = i;
			gen[n++] = x->gen;
		}
		pf[n].fd = r->wfd;
		pf[n].events = POLLIN;
		pf[n].revents = 0;
		pthread_mutex_unlock(&r->mu);
		if (poll(pf, n + 1, nopidfd ? 10 : -1) > 0 && (pf[n].revents & POLLIN)) {
			uint64_t v;

			if (read(r->wfd, &v, sizeof(v)) < 0) {
				/* EAGAIN: nothing to take. */
			}
		}
		pthread_mutex_lock(&r->mu);
		for (unsigned k = 0; k < n; k++) {
			struct job *x = &r->jobs[idx[k]];
			siginfo_t si;

			/* The same job still (the main thread may have reaped and
			 * reused the slot meanwhile)? */
			if (x->gen != gen[k] || x->state != J_RUNNING)
				continue;
			if (pf[k].fd >= 0) {
				if (pf[k].revents & (POLLIN | POLLHUP | POLLERR))
					x->exited = notify = 1;
				continue;
			}
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)x->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
			    si.si_pid)
				x->exited = notify = 1;
		}
	}
	/* The wakeup that stopped this thread may have been the only one: pass
	 * it on to the others. */
	spawner_wake(r);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Stop the spawner; jobs it had not taken stay SPAWNING (never started). */
static void spawner_stop(struct run *r)
{
	if (!r->async)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	spawner_wake(r);
	pthread_mutex_unlock(&r->mu);
	for (unsigned i = 0; i < r->nspawners; i++)
		pthread_join(r->spawner[i], NULL);
	pthread_mutex_destroy(&r->mu);
	close(r->efd);
	close(r->wfd);
	r->async = 0;
}

/* Directories kept for reuse: as many as can be in use at once. */
#define POOL_MAX(r) (2 * (r)->o->jobs + 1)

/* ---- The directories' records (struct sdir) ---- */

/* What a checker can do to a directory's contents, through any of its
 * names (the entries are watched too, not only the directory): write,
 * truncate, chmod/chown/utimes/link (IN_ATTRIB), close after opening for
 * writing (covers writes through a shared mapping), create, remove,
 * rename.  Reads and opens for reading are not reported: a checker that
 * only reads leaves its directory clean. */
#define SD_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | \
		   IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)

/* A free record, or -1 (no inotify, or none free: rewritten whole). */
static int sd_get(struct run *r)
{
	if (r->ifd < 0)
		return -1;
	for (unsigned i = 0; i < r->nsd; i++) {
		struct sdir *d = &r->sd[i];

		if (d->used)
			continue;
		if (!d->snap && !(d->snap = crash_snap_new()))
			return -1;
		crash_snap_invalidate(d->snap);
		d->used = 1;
		d->dirty = 1;
		d->pgid = 0;
		d->nwd = 0;
		return (int)i;
	}
	return -1;
}

static void sd_drop(struct run *r, int i)
{
	if (i < 0)
		return;
	/* Its watches go with the inodes removed, or stay on kept ones
	 * (harmless: no record has those descriptors any more). */
	r->sd[i].used = 0;
	r->sd[i].nwd = 0;
	crash_snap_invalidate(r->sd[i].snap);
}

/* Read the events queued so far: each makes its directory dirty. */
static void sd_drain(struct run *r)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(r->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			for (unsigned i = 0; i < r->nsd; i++) {
				struct sdir *d = &r->sd[i];

				if (ev->mask & IN_Q_OVERFLOW)
					d->dirty = 1;
				for (unsigned k = 0; !d->dirty && k < d->nwd; k++)
					if (d->wd[k] == ev->wd)
						d->dirty = 1;
			}
			p += sizeof(*ev) + ev->len;
		}
		/* A read returns every event that fits: room left for one
		 * more means the queue was empty (no second read for EAGAIN). */
		if ((size_t)n + sizeof(struct inotify_event) + NAME_MAX + 1 <= sizeof(buf))
			break;
	}
}

/* Does directory record @i hold exactly its snapshot? */
static int sd_clean(struct run *r, int i)
{
	struct sdir *d;

	if (i < 0)
		return 0;
	d = &r->sd[i];
	/* A process of its checker's group still exiting may yet write (or
	 * close a file it wrote through a mapping: the event comes then). */
	if (d->pgid > 0 && !(kill(-d->pgid, 0) < 0 && errno == ESRCH))
		d->dirty = 1;
	sd_drain(r);
	return !d->dirty;
}

/* @dir now holds @st, written by torn (whole when !@delta): record it,
 * watch what is new, and forget the events of our own writes. */
static void sd_written(struct run *r, int i, struct crash_state *st, const char *dir, int delta)
{
	struct sdir *d;
	const char *paths[CRASH_SNAP_MAX];
	char p[PATH_MAX + 32 + TORN_PATH_MAX];
	size_t n;

	if (i < 0)
		return;
	d = &r->sd[i];
	if (!delta) {
		d->nwd = 0;
		if (crash_snap_take(d->snap, st) != 1) {
			crash_snap_invalidate(d->snap);
			d->dirty = 1;
			return;
		}
		n = crash_snap_paths(d->snap, paths, CRASH_SNAP_MAX);
		d->wd[d->nwd] = inotify_add_watch(r->ifd, dir, SD_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW);
		if (d->wd[d->nwd] >= 0)
			d->nwd++;
		for (size_t k = 0; k < n && d->nwd == k + 1; k++) {
			snprintf(p, sizeof(p), "%s/%s", dir, paths[k]);
			d->wd[d->nwd] = inotify_add_watch(r->ifd, p, SD_EVENTS | IN_DONT_FOLLOW);
			if (d->wd[d->nwd] >= 0)
				d->nwd++;
		}
		if (d->nwd != n + 1) {
			/* Not watched (out of watches: max_user_watches): it
			 * cannot be trusted after its checker. */
			crash_snap_invalidate(d->snap);
			d->dirty = 1;
			return;
		}
	}
	sd_drain(r);
	d->dirty = 0;
	d->pgid = 0;
}

/* Give a finished slot back (under the lock: the spawner scans states). */
static void job_release(struct run *r, struct job *j)
{
	if (r->async)
		pthread_mutex_lock(&r->mu);
	job_clear(j);
	if (r->async)
		pthread_mutex_unlock(&r->mu);
	r->njobs--;
}

static enum job_state job_state(struct run *r, const struct job *j)
{
	enum job_state st;

	if (!r->async)
		return j->state;
	pthread_mutex_lock(&r->mu);
	st = j->state;
	pthread_mutex_unlock(&r->mu);
	return st;
}

/* Fork job @j's child from torn (RUNNING or BROKEN): what a run with a
 * fork server does when the server cannot take a request.  Not through
 * forkserver_spawn: its answer would be one meant for a FORKING job. */
static void job_fork(const struct run *r, struct job *j)
{
	pid_t pid = 0;
	int rc = checker_fork(r->o, j->dir, j->marks, j->outfd, &pid);

	job_spawned(r, j, rc, pid);
	j->state = j->spawn_err ? J_BROKEN : J_RUNNING;
}

/* End worker @w (if it runs: killed with its group and reaped, its wait
 * status in *@status when not NULL). */
static void worker_drop(struct worker *w, int *status)
{
	int st = 0;

	if (w->pid > 0) {
		kill(-w->pid, SIGKILL);
		while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (w->pidfd >= 0)
		close(w->pidfd);
	if (w->sock >= 0)
		close(w->sock);
	w->state = W_NONE;
	w->pid = 0;
	w->pidfd = -1;
	w->sock = -1;
	w->passed = 0;
	if (status)
		*status = st;
}

/* Give job @j (outfd open, inputs set) to a worker: an idle one, unless
 * @fresh, else a new one asked of the fork server (j FORKING until its
 * answer; j->outfd stays open until then: a server gone meanwhile means
 * a fork from torn, reap_forkserver).  0, or -errno: the caller spawns
 * it otherwise. */
static int worker_start(struct run *r, struct job *j, int fresh)
{
	struct worker *w = NULL, *none = NULL;
	int sv[2], rc;

	for (unsigned i = 0; i < r->o->jobs; i++) {
		if (!fresh && !w && r->wk[i].state == W_IDLE)
			w = &r->wk[i];
		if (!none && r->wk[i].state == W_NONE)
			none = &r->wk[i];
	}
	if (w) {
		if (req_send(w->sock, j->dir, j->marks, &j->outfd, 1) == 0) {
			w->state = W_BUSY;
			j->wk = (int)(w - r->wk) + 1;
			j->reused = 1;
			job_spawned(r, j, -ECHILD, 0);  /* closes outfd, starts the clock */
			j->spawn_err = 0;
			j->pid = w->pid;
			j->deadline = r->o->timeout_s > 0 ? j->start + r->o->timeout_s : 0;
			j->state = J_RUNNING;
			return 0;
		}
		worker_drop(w, NULL);   /* gone meanwhile: a new one instead */
		none = w;
	}
	if (!none)
		return -EBUSY;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	rc = fs_send(r->o->forkserver, j->dir, j->marks, j->outfd, sv[1]);
	close(sv[1]);
	if (rc < 0) {
		close(sv[0]);
		return rc;
	}
	none->state = W_FORKING;
	none->sock = sv[0];
	none->passed = 0;
	j->wk = (int)(none - r->wk) + 1;
	j->reused = 0;
	j->state = J_FORKING;
	r->fsq[(r->fsq_head + r->fsq_n++) % r->o->jobs] = (unsigned)(j - r->jobs);
	return 0;
}

/* Start the checker on the state already written to @dir, with its marks
 * in @marks and its output going to @out (own_*: files of this state, to
 * be removed with it; else shared ones, linked or moved when kept). */
static int job_start(struct run *r, struct job *j, const char *dir, const char *marks,
		     int own_marks, const char *out, int own_out, const char *id,
		     uint64_t point, uint64_t ordinal)
{
	int rc;

	j->pidfd = -1;
	j->outfd = -1;
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	snprintf(j->marks, sizeof(j->marks), "%s", marks ? marks : "/dev/null");
	snprintf(j->out, sizeof(j->out), "%s", out);
	j->own_marks = own_marks && marks;
	j->own_out = own_out;
	j->outfd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (j->outfd < 0) {
		rc = -errno;
		seterr(r->errbuf, r->errlen, "cannot create %s: %s", out, strerror(-rc));
		goto out;
	}
	j->id = strdup(id ? id : "");
	if (!j->id) {
		rc = -ENOMEM;
		goto out;
	}
	rc = checker_env(&r->chk, j->env, dir, marks, id);
	if (rc < 0)
		goto out;
	j->point = point;
	j->ordinal = ordinal;
	j->hung = 0;
	r->njobs++;
	j->gen++;
	j->exited = 0;
	if (r->async) {
		pthread_mutex_lock(&r->mu);
		j->state = J_SPAWNING;
		spawner_wake(r);
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	if (r->fs_async) {
		if (worker_start(r, j, 0) < 0)
			job_fork(r, j);
		return 0;
	}
	job_spawn(r, j);
	j->state = j->spawn_err ? J_BROKEN : J_RUNNING;
	return 0;
out:
	if (j->outfd >= 0)
		close(j->outfd);
	j->outfd = -1;
	free(j->id);
	j->id = NULL;
	return rc;
}

/* Remove the state's files, or keep them when asked to and it failed. */
static void job_dispose(struct run *r, struct job *j, int failed, char **kept)
{
	char p[PATH_MAX + 40];

	if (r->keep_dirs)
		return;
	if (failed && r->o->keep_failing) {
		/* DIR, DIR.marks, DIR.out: the state with what its checker had. */
		r->keep_any = 1;
		side_path(p, sizeof(p), j->dir, "marks");
		if (!j->own_marks && link(j->marks, p) < 0)
			symlink(j->marks, p);
		side_path(p, sizeof(p), j->dir, "out");
		if (!j->own_out)
			rename(j->out, p);
		if (kept)
			*kept = strdup(j->dir);
		sd_drop(r, j->sd);
		j->sd = -1;
		return;
	}
	if (r->pool && r->npool < POOL_MAX(r)) {
		if (j->sd >= 0)
			r->sd[j->sd].pgid = j->pid;
		r->pool_sd[r->npool] = j->sd;
		memcpy(r->pool[r->npool++], j->dir, sizeof(j->dir));
	} else {
		explore_rmtree(j->dir);
		sd_drop(r, j->sd);
	}
	j->sd = -1;
	if (j->own_marks)
		unlink(j->marks);
	if (j->own_out)
		unlink(j->out);
}

static void empty_pool(struct run *r)
{
	while (r->npool) {
		explore_rmtree(r->pool[--r->npool]);
		sd_drop(r, r->pool_sd[r->npool]);
	}
}

static int add_failure(struct run *r, struct job *j, struct explore_result *res)
{
	struct explore_report *rep = r->rep;
	struct explore_failure *f;

	if (rep->nfailures == r->fcap) {
		size_t cap = r->fcap ? r->fcap * 2 : 16;
		struct explore_failure *n = realloc(rep->failures, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		rep->failures = n;
		r->fcap = cap;
	}
	f = &rep->failures[rep->nfailures];
	memset(f, 0, sizeof(*f));
	f->state = j->id;
	j->id = NULL;
	f->crash_point = j->point;
	f->ordinal = j->ordinal;
	f->res = *res;
	memset(res, 0, sizeof(*res));
	job_dispose(r, j, 1, &f->kept);
	rep->nfailures++;
	return 0;
}

/* The state of @j comes after the program acknowledged data that a failed
 * fsync had dropped (crash_ackloss.c): a checker's failure there gets that
 * reason, and the reference state at the acknowledgement fails with it
 * whatever the checker said - torn knows those bytes were never durable. */
static int ackloss_judge(struct run *r, const struct job *j, struct explore_result *res)
{
	int n;

	if (res->outcome == EXPLORE_PASS && !j->ack_ref)
		return 0;
	if (res->outcome == EXPLORE_PASS)
		res->outcome = EXPLORE_FAIL;
	n = crash_ackloss_describe(j->ack, NULL, 0);
	res->reason = malloc((size_t)n + 1);
	if (!res->reason) {
		seterr(r->errbuf, r->errlen, "out of memory");
		return -ENOMEM;
	}
	crash_ackloss_describe(j->ack, res->reason, (size_t)n + 1);
	return 0;
}

/* The checker of @j has exited (or was killed): classify and dispose. */
static int job_finish(struct run *r, struct job *j, int status)
{
	struct explore_result res;
	char out[PATH_MAX + 40];
	int rc = 0;

	memset(&res, 0, sizeof(res));
	res.exit_code = -1;
	res.secs = now_s() - j->start;
	if (j->hung) {
		res.outcome = EXPLORE_HANG;
	} else if (WIFSIGNALED(status)) {
		res.outcome = EXPLORE_CRASH;
		res.sig = WTERMSIG(status);
	} else {
		int code = WEXITSTATUS(status);

		if (code == 0) {
			res.outcome = EXPLORE_PASS;
			res.exit_code = 0;
		} else if (code == 126 || code == 127) {
			rc = -TORN_E_CHECKER;
			res.exit_code = code;
		} else if (code > 128 && code <= 128 + 64) {
			/* The shell's way to say its child died of signal code-128. */
			res.outcome = EXPLORE_CRASH;
			res.exit_code = code;
			res.sig = code - 128;
		} else {
			res.outcome = EXPLORE_FAIL;
			res.exit_code = code;
		}
	}
	if (rc == 0 && j->ack)
		rc = ackloss_judge(r, j, &res);
	snprintf(out, sizeof(out), "%s", j->out);
	if (rc == 0 && (res.outcome != EXPLORE_PASS || r->single)) {
		rc = read_tail(out, r->o->output_lines, &res);
		if (rc < 0)
			seterr(r->errbuf, r->errlen, "cannot read %s: %s", out, strerror(-rc));
	}
	if (rc == -TORN_E_CHECKER) {
		struct explore_result t;
		char last[512] = "";

		memset(&t, 0, sizeof(t));
		if (read_tail(out, 3, &t) == 0)
			for (size_t i = 0; i < t.noutput; i++)
				snprintf(last + strlen(last), sizeof(last) - strlen(last), "%s%s",
					 i ? " / " : "", t.output[i]);
		explore_result_free(&t);
		seterr(r->errbuf, r->errlen,
		       "the checker '%s' could not be run (exit %d: %s)%s%s%s", r->chk.cmd,
		       res.exit_code, res.exit_code == 127 ? "command not found" :
		       "not executable", last[0] ? ": " : "", last, relative_hint(r->chk.cmd));
		job_dispose(r, j, 0, NULL);
		goto out;
	}
	if (rc < 0) {
		job_dispose(r, j, 0, NULL);
		goto out;
	}
	if (r->rep) {
		r->rep->outcomes[res.outcome]++;
		r->rep->states_checked++;
	}
	if (r->single) {
		*r->single = res;
		memset(&res, 0, sizeof(res));
		job_dispose(r, j, 0, NULL);
	} else if (res.outcome != EXPLORE_PASS) {
		rc = add_failure(r, j, &res);
	} else {
		job_dispose(r, j, 0, NULL);
	}
out:
	explore_result_free(&res);
	job_release(r, j);
	return rc;
}

static void progress(struct run *r, int done)
{
	const struct explore_opts *o = r->o;
	struct explore_progress p;
	double t = now_s();

	if (!o->progress || !r->rep || (!done && t - r->last_progress < 0.1))
		return;
	r->last_progress = t;
	memset(&p, 0, sizeof(p));
	p.checked = r->rep->states_checked;
	p.total = o->total;
	p.enumerated = r->rep->states_enumerated;
	p.failures = r->rep->outcomes[EXPLORE_FAIL] + r->rep->outcomes[EXPLORE_CRASH] +
		     r->rep->outcomes[EXPLORE_HANG];
	p.elapsed_s = t - r->t0;
	p.done = done;
	o->progress(o->progress_arg, &p);
}

/* The fork server's answers, in the order of the requests: the FORKING
 * jobs become RUNNING (or, the server gone, are forked from torn).
 * @nonblock: only the answers already there. */
static void reap_forkserver(struct run *r, int nonblock)
{
	while (r->fsq_n) {
		struct job *j = &r->jobs[r->fsq[r->fsq_head]];
		pid_t pid = 0;
		int rc = fs_recv(r->o->forkserver, &pid, nonblock);

		if (rc == -EAGAIN)
			break;
		r->fsq_head = (r->fsq_head + 1) % r->o->jobs;
		r->fsq_n--;
		if (rc < 0 && j->wk) {
			worker_drop(&r->wk[j->wk - 1], NULL);
			j->wk = 0;
		}
		if (rc < 0)
			rc = checker_fork(r->o, j->dir, j->marks, j->outfd, &pid);
		job_spawned(r, j, rc, pid);
		if (j->wk) {
			/* The worker owns the pidfd: it outlives the job. */
			struct worker *w = &r->wk[j->wk - 1];

			if (j->spawn_err) {
				worker_drop(w, NULL);
				j->wk = 0;
			} else {
				w->state = W_BUSY;
				w->pid = pid;
				w->pidfd = j->pidfd;
				j->pidfd = -1;
			}
		}
		j->state = j->spawn_err ? J_BROKEN : J_RUNNING;
	}
}

/* Running job @j's worker answered (a pass) or ended (@dead: its pidfd
 * says so).  A pass finishes the job and leaves the worker idle; an end
 * finishes it with the worker's wait status, unless the worker had
 * passed states before this one: then the state is checked again from
 * the start in a fresh child, so that no finding depends on what earlier
 * checks left in the worker's memory.  1 when the job finished, 0 when
 * it did not (nothing yet, or checked again), or < 0 (the first error). */
static int worker_reap(struct run *r, struct job *j, int dead)
{
	struct worker *w = &r->wk[j->wk - 1];
	int status = 0, rc;
	ssize_t n;
	char c;

	do
		n = recv(w->sock, &c, 1, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == 'p' && !j->hung) {
		j->wk = 0;
		if (++w->passed >= WORKER_STATES)
			worker_drop(w, NULL);
		else
			w->state = W_IDLE;
		rc = job_finish(r, j, 0);
		return rc < 0 ? rc : 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !dead)
		return 0;
	/* Anything else: the worker is done for (a garbled answer too). */
	worker_drop(w, &status);
	j->wk = 0;
	if (!j->reused) {
		rc = job_finish(r, j, status);
		return rc < 0 ? rc : 1;
	}
	j->hung = 0;
	j->outfd = open(j->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (j->outfd < 0) {
		rc = -errno;
		seterr(r->errbuf, r->errlen, "cannot create %s: %s", j->out, strerror(-rc));
		job_dispose(r, j, 0, NULL);
		job_release(r, j);
		return rc;
	}
	if (worker_start(r, j, 1) < 0)
		job_fork(r, j);
	return 0;
}

/* Wait until at least one job finished (block) or poll once (!block);
 * kills the checkers over their deadline.  Returns the number of jobs
 * finished, or < 0 (the first error). */
static int reap(struct run *r, int block)
{
	unsigned cap = r->nslots;
	/* a job's pidfd, or its worker's pidfd and socket; two more */
	struct pollfd pf[2 * cap + 2];
	unsigned map[2 * cap + 2];
	uint8_t handled[cap];
	int finished = 0;

	while (r->njobs) {
		double t = now_s(), next = 0;
		unsigned n = 0;
		int timeout, rc, nopidfd = 0, ready = 0;

		for (unsigned i = 0; i < cap; i++) {
			struct job *j = &r->jobs[i];
			enum job_state st = job_state(r, j);

			if (st == J_BROKEN) {
				seterr(r->errbuf, r->errlen, "cannot run the checker '%s': %s%s",
				       r->chk.cmd, strerror(-j->spawn_err),
				       relative_hint(r->chk.cmd));
				job_dispose(r, j, 0, NULL);
				job_release(r, j);
				return -TORN_E_CHECKER;
			}
			if (st != J_RUNNING)
				continue;
			if (j->deadline && !j->hung && t >= j->deadline) {
				siginfo_t si;
				char c;

				/* A checker that exited while this thread was busy
				 * (materialising a large state) is not a hang: only
				 * one still running past its deadline is; nor is a
				 * worker whose pass is not read yet. */
				memset(&si, 0, sizeof(si));
				if (j->pid > 0 &&
				    !(j->wk && recv(r->wk[j->wk - 1].sock, &c, 1,
						    MSG_PEEK | MSG_DONTWAIT) == 1) &&
				    (waitid(P_PID, (id_t)j->pid, &si,
					    WEXITED | WNOHANG | WNOWAIT) != 0 || !si.si_pid)) {
					/* Over time: the whole group, grandchildren included. */
					j->hung = 1;
					kill(-j->pid, SIGKILL);
				}
			}
			if (j->deadline && !j->hung && (!next || j->deadline < next))
				next = j->deadline;
			if (j->wk) {
				/* map: i for the pidfd, cap + 2 + i for the socket */
				const struct worker *w = &r->wk[j->wk - 1];

				pf[n].fd = w->sock;
				pf[n].events = POLLIN;
				pf[n].revents = 0;
				map[n++] = cap + 2 + i;
				if (w->pidfd < 0)
					nopidfd = 1;
				pf[n].fd = w->pidfd;
			} else {
				if (r->async) {
					/* The spawners watch the checkers and tell this thread
					 * (efd) once the next one is started: had this thread
					 * polled the pidfds too, every exit would wake it
					 * together with them, and the scheduler stacked the
					 * woken threads on the busy core while the other
					 * idled (bench/explore.sh: 0.71 s of a core idle in a
					 * 3.8 s run with runnable tasks waiting on the other). */
					int ex;

					pthread_mutex_lock(&r->mu);
					ex = j->exited;
					pthread_mutex_unlock(&r->mu);
					if (!ex)
						continue;
					ready++;
				}
				if (j->pidfd < 0 && !r->async)
					nopidfd = 1;
				pf[n].fd = r->async ? -1 : j->pidfd;   /* < 0: ignored by poll */
			}
			pf[n].events = POLLIN;
			pf[n].revents = 0;
			map[n++] = i;
		}
		if (r->async) {
			/* A spawn completed: a new pidfd to watch. */
			pf[n].fd = r->efd;
			pf[n].events = POLLIN;
			pf[n].revents = 0;
			map[n++] = cap;
		}
		if (r->fsq_n) {
			/* The fork server answered: a new pidfd to watch. */
			pf[n].fd = r->o->forkserver->sock;
			pf[n].events = POLLIN;
			pf[n].revents = 0;
			map[n++] = cap + 1;
		}
		if (!block || finished || ready)
			timeout = 0;
		else if (next)
			timeout = (int)((next - t) * 1000) + 1;
		else
			timeout = 1000;
		if (block && !finished && r->o->progress && timeout > 100)
			timeout = 100;
		if (nopidfd && timeout > 10)
			timeout = 10;
		rc = poll(pf, n, timeout);
		if (rc < 0 && errno != EINTR) {
			int e = errno;

			seterr(r->errbuf, r->errlen, "poll: %s", strerror(e));
			return -e;
		}
		if (interrupted)
			return -EINTR;
		if (ready) {
			/* poll cleared the revents of the fd -1 entries */
			for (unsigned k = 0; k < n; k++)
				if (map[k] < cap)
					pf[k].revents = POLLIN;
			rc = (rc > 0 ? rc : 0) + ready;
		}
		for (unsigned k = 0; nopidfd && k < n; k++) {
			siginfo_t si;

			if (pf[k].fd >= 0 || map[k] >= cap)
				continue;
			/* WNOWAIT: the leader stays a zombie, as with a pidfd */
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)r->jobs[map[k]].pid, &si,
				   WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid) {
				pf[k].revents = POLLIN;
				rc = rc > 0 ? rc + 1 : 1;
			}
		}
		memset(handled, 0, sizeof(handled));
		for (unsigned k = 0; rc > 0 && k < n; k++) {
			struct job *j;
			int status = 0;

			if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (map[k] >= cap + 2 || map[k] < cap) {
				/* A job's entry: a worker's has two (its socket,
				 * then its pidfd), and the job is done with at
				 * the first (it may be released, or restarted). */
				unsigned i = map[k] >= cap + 2 ? map[k] - cap - 2 : map[k];

				if (handled[i])
					continue;
				handled[i] = 1;
			}
			if (map[k] >= cap + 2 || (map[k] < cap && r->jobs[map[k]].wk)) {
				unsigned i = map[k] >= cap + 2 ? map[k] - cap - 2 : map[k];
				int frc;

				frc = worker_reap(r, &r->jobs[i], map[k] < cap ||
						  (k + 1 < n && map[k + 1] == i &&
						   (pf[k + 1].revents & (POLLIN | POLLHUP | POLLERR))));
				if (frc < 0)
					return frc;
				finished += frc;
				continue;
			}
			if (map[k] == cap + 1) {
				reap_forkserver(r, 1);
				continue;
			}
			if (map[k] == cap) {
				uint64_t v;

				if (read(r->efd, &v, sizeof(v)) < 0) {
					/* EAGAIN: another wakeup took it already. */
				}
				continue;
			}
			j = &r->jobs[map[k]];
			/* The leader is a zombie, so its pid (the group id) is not
			 * reused yet: kill what it left running in its group. */
			if (j->pid > 0)
				kill(-j->pid, SIGKILL);
			while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
				;
			int frc = job_finish(r, j, status);
			if (frc < 0)
				return frc;
			finished++;
		}
		progress(r, 0);
		if (!block || finished)
			break;
	}
	return finished;
}

/* Kill and reap every running checker (error or interruption). */
static void kill_all(struct run *r)
{
	/* First the spawner: afterwards no job changes state behind our back;
	 * and the fork server's answers, for the pids to kill. */
	spawner_stop(r);
	if (r->fsq)
		reap_forkserver(r, 0);
	for (unsigned i = 0; r->wk && i < r->o->jobs; i++)
		worker_drop(&r->wk[i], NULL);
	for (unsigned i = 0; r->jobs && i < r->nslots; i++) {
		struct job *j = &r->jobs[i];

		if (j->state == J_FREE)
			continue;
		if (j->state == J_RUNNING && !j->wk) {
			kill(-j->pid, SIGKILL);
			while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		job_dispose(r, j, 0, NULL);
		job_release(r, j);
	}
}

static struct job *free_slot(struct run *r)
{
	/* Without the spawner a job starts at once: opts.jobs at most. */
	if (!r->async && r->njobs >= r->o->jobs)
		return NULL;
	for (unsigned i = 0; i < r->nslots; i++)
		if (job_state(r, &r->jobs[i]) == J_FREE)
			return &r->jobs[i];
	return NULL;
}

/* Start the spawner threads, with SIGINT/SIGTERM blocked in them so that
 * they interrupt the main thread's poll. */
static int spawner_start(struct run *r)
{
	unsigned n = r->o->jobs < SPAWNERS_MAX ? r->o->jobs : SPAWNERS_MAX;
	sigset_t all, old;
	int rc = 0;

	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0)
		return -errno;
	r->wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wfd < 0) {
		rc = -errno;
		close(r->efd);
		return rc;
	}
	pthread_mutex_init(&r->mu, NULL);
	r->stop = 0;
	r->nspawners = 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < n; i++) {
		rc = pthread_create(&r->spawner[i], NULL, spawner_main, r);
		if (rc)
			break;
		r->nspawners++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!r->nspawners) {
		pthread_mutex_destroy(&r->mu);
		close(r->efd);
		close(r->wfd);
		return -rc;
	}
	/* Fewer than asked (out of threads): fewer spawns at once, no harm. */
	r->async = 1;
	return 0;
}

static int run_init(struct run *r, const struct explore_opts *o, char *err, size_t errlen)
{
	const char *base = o->scratch ? o->scratch : explore_default_scratch();
	char tmpl[PATH_MAX];
	int rc;

	memset(r, 0, sizeof(r[0]));
	r->o = o;
	r->ifd = -1;
	r->errbuf = err;
	r->errlen = errlen;
	if (!o->check || !*o->check || !o->jobs) {
		seterr(err, errlen, "no checker command or no jobs");
		return -EINVAL;
	}
	rc = checker_init(&r->chk, o->check, o->trace);
	if (rc < 0) {
		seterr(err, errlen, "out of memory");
		return rc;
	}
	r->nslots = 2 * o->jobs;
	r->jobs = calloc(r->nslots, sizeof(*r->jobs));
	if (!r->jobs) {
		checker_free(&r->chk);
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < r->nslots; i++) {
		r->jobs[i].pidfd = -1;
		r->jobs[i].outfd = -1;
		r->jobs[i].sd = -1;
		r->jobs[i].env = checker_env_new(&r->chk);
		if (!r->jobs[i].env)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		for (unsigned i = 0; i < r->nslots; i++)
			checker_env_free(&r->chk, r->jobs[i].env);
		free(r->jobs);
		checker_free(&r->chk);
		seterr(err, errlen, "out of memory");
		return rc;
	}
	if (snprintf(tmpl, sizeof(tmpl), "%s/torn-XXXXXX", base) >= (int)sizeof(tmpl))
		rc = -ENAMETOOLONG;
	else if (!mkdtemp(tmpl))
		rc = -errno;
	if (rc < 0) {
		seterr(err, errlen, "cannot create a scratch directory under %s: %s", base,
		       strerror(-rc));
		for (unsigned i = 0; i < r->nslots; i++)
			checker_env_free(&r->chk, r->jobs[i].env);
		free(r->jobs);
		checker_free(&r->chk);
		return rc;
	}
	/* TORN_STATE is absolute, whatever --scratch was. */
	if (!realpath(tmpl, r->scratch))
		snprintf(r->scratch, sizeof(r->scratch), "%s", tmpl);
	return 0;
}

static void pend_drop(struct run *r, struct pending *p)
{
	explore_rmtree(p->dir);
	sd_drop(r, p->sd);
	p->sd = -1;
	if (p->own_marks)
		unlink(p->marks);
	free(p->id);
	p->id = NULL;
}

static void run_fini(struct run *r)
{
	char p[PATH_MAX + 40];

	kill_all(r);
	for (; r->pend && r->pend_n; r->pend_n--) {
		pend_drop(r, &r->pend[r->pend_head]);
		r->pend_head = (r->pend_head + 1) % r->o->jobs;
	}
	empty_pool(r);
	free(r->pend);
	free(r->pool);
	free(r->pool_sd);
	r->pend = NULL;
	r->pool = NULL;
	r->pool_sd = NULL;
	for (unsigned i = 0; i < r->nsd; i++)
		crash_snap_free(r->sd[i].snap);
	free(r->sd);
	r->sd = NULL;
	r->nsd = 0;
	if (r->ifd >= 0)
		close(r->ifd);
	r->ifd = -1;
	if (!r->keep_any) {
		explore_rmtree(r->scratch);
	} else {
		/* Only the kept states stay: the shared marks (kept states have
		 * their own links) and the slots' output files go. */
		for (size_t k = 0; r->marks_done && k <= r->marks.n; k++)
			if (r->marks_done[k]) {
				snprintf(p, sizeof(p), "%s/m%zu", r->scratch, k);
				unlink(p);
			}
		for (unsigned i = 0; i < r->nslots; i++) {
			snprintf(p, sizeof(p), "%s/o%u", r->scratch, i);
			unlink(p);
		}
	}
	for (unsigned i = 0; i < r->nslots; i++)
		checker_env_free(&r->chk, r->jobs[i].env);
	free(r->jobs);
	checker_free(&r->chk);
	free(r->fsq);
	free(r->wk);
	hset_free(&r->seen);
	hset_free(&r->seen_applied);
	crash_applied_free(r->applied);
	r->applied = NULL;
	explore_marks_free(&r->marks);
	free(r->marks_done);
}

/* Number of marks with seq < @p. */
static size_t marks_before(const struct explore_marks *m, uint64_t p)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->seq[mid] < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Key @h with the number of marks @nmarks made before the crash point. */
static torn_hash mix_marks(torn_hash h, size_t nmarks)
{
	uint64_t buf[3] = { h.lo, h.hi, nmarks };
	XXH128_hash_t k = XXH3_128bits(buf, sizeof(buf));

	h.lo = k.low64;
	h.hi = k.high64;
	return h;
}

/* Start the queued states while there are free slots; with @wait, until
 * the queue has room again (or is empty, @wait > 1), reaping as needed.
 * The passed states' directories go afterwards. */
static int pend_flush(struct run *r, int wait)
{
	char out[PATH_MAX + 40];
	int rc = 0;

	for (;;) {
		struct job *j;

		while (r->pend_n && (j = free_slot(r))) {
			struct pending *p = &r->pend[r->pend_head];

			r->pend_head = (r->pend_head + 1) % r->o->jobs;
			r->pend_n--;
			j->ack = p->ack;
			j->ack_ref = p->ack_ref;
			snprintf(out, sizeof(out), "%s/o%u", r->scratch, (unsigned)(j - r->jobs));
			rc = job_start(r, j, p->dir, p->marks, p->own_marks, out, 0, p->id,
				       p->point, p->ordinal);
			if (rc < 0) {
				pend_drop(r, p);
				return rc;
			}
			j->sd = p->sd;
			p->sd = -1;
			free(p->id);
			p->id = NULL;
		}
		if (!r->pend_n || !wait || (wait == 1 && r->pend_n < r->o->jobs))
			return 0;
		rc = reap(r, 1);
		if (rc < 0)
			return rc;
	}
}

/* Materialise @st into SCRATCH/sORD, then wait for a free slot and start
 * its checker: materialising first overlaps it with the running checkers.
 * The marks go to SCRATCH/mK, written once for each number K of marks
 * (the marks before a crash point are a prefix of the trace's marks), or,
 * when the trace's marks are not known (the runner), to SCRATCH/sORD.marks. */
static int start_state(struct run *r, struct crash_state *st, uint64_t ord)
{
	char dir[PATH_MAX + 32], marks[PATH_MAX + 40], out[PATH_MAX + 40];
	int rc, own_marks = 1, sd = -1, delta = 0;
	struct job *j;

	snprintf(dir, sizeof(dir), "%s/s%llu", r->scratch, (unsigned long long)ord);
	side_path(marks, sizeof(marks), dir, "marks");
	rc = -ENOENT;
	if (r->npool) {
		/* A passed state's directory, renamed and written over: page
		 * by page when nothing touched it since torn wrote it (struct
		 * sdir), else rewritten; anything amiss: afresh. */
		const char *old = r->pool[--r->npool];
		int clean;

		sd = r->pool_sd[r->npool];
		clean = sd_clean(r, sd);
		if (rename(old, dir) < 0) {
			explore_rmtree(old);
		} else {
			if (clean) {
				int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

				rc = dfd < 0 ? -errno : crash_state_write_delta(st, dfd, r->sd[sd].snap);
				if (dfd >= 0)
					close(dfd);
				delta = rc == 0;
			}
			if (rc < 0 && (rc = crash_state_rewrite(st, dir, 0755)) < 0)
				explore_rmtree(dir);
		}
		if (rc < 0) {
			sd_drop(r, sd);
			sd = -1;
		}
	}
	if (sd < 0)
		sd = sd_get(r);
	if (rc < 0 && mkdir(dir, 0755) < 0) {
		rc = -errno;
		seterr(r->errbuf, r->errlen, "cannot create %s: %s", dir, strerror(-rc));
		sd_drop(r, sd);
		return rc;
	}
	if (rc < 0)
		rc = crash_state_write(st, dir);
	if (rc == 0)
		sd_written(r, sd, st, dir, delta);
	if (rc == 0 && r->marks_done) {
		size_t k = marks_before(&r->marks, crash_state_point(st));

		own_marks = 0;
		snprintf(marks, sizeof(marks), "%s/m%zu", r->scratch, k);
		if (!r->marks_done[k]) {
			rc = crash_state_write_marks(st, marks);
			/* Shared by every state with k marks: read-only. */
			if (rc == 0)
				chmod(marks, 0444);
			r->marks_done[k] = rc == 0;
		}
	} else if (rc == 0) {
		rc = crash_state_write_marks(st, marks);
	}
	if (rc < 0) {
		seterr(r->errbuf, r->errlen, "cannot materialise state %s in %s: %s",
		       crash_state_id(st), dir, torn_strerror(rc));
		goto fail;
	}
	if (r->pend) {
		/* explore_run: queued, started in order as slots free up. */
		struct pending *p = &r->pend[(r->pend_head + r->pend_n) % r->o->jobs];

		p->id = strdup(crash_state_id(st));
		if (!p->id) {
			rc = -ENOMEM;
			goto fail;
		}
		memcpy(p->dir, dir, sizeof(p->dir));
		memcpy(p->marks, marks, sizeof(p->marks));
		p->own_marks = own_marks;
		p->point = crash_state_point(st);
		p->ordinal = ord;
		p->ack = crash_state_ackloss(st, &p->ack_ref);
		p->sd = sd;
		sd = -1;
		r->pend_n++;
		return pend_flush(r, r->pend_n == r->o->jobs);
	}
	while (!(j = free_slot(r))) {
		rc = reap(r, 1);
		if (rc < 0)
			goto fail;
	}
	j->ack = crash_state_ackloss(st, &j->ack_ref);
	snprintf(out, sizeof(out), "%s/o%u", r->scratch, (unsigned)(j - r->jobs));
	return job_start(r, j, dir, marks, own_marks, out, 0, crash_state_id(st),
			 crash_state_point(st), ord);
fail:
	explore_rmtree(dir);
	sd_drop(r, sd);
	if (own_marks)
		unlink(marks);
	return rc;
}

/* ==========================================================================
 * 5. EXPLORE_RUN
 * ========================================================================== */

static int visit(void *arg, struct crash_state *st)
{
	struct run *r = arg;
	struct explore_report *rep = r->rep;
	torn_hash h;
	uint64_t ord;
	int rc;

	if (interrupted)
		return -EINTR;
	rep->states_enumerated++;
	/* The same units applied the same way and the same marks: the same
	 * contents as a state seen before, known without building it. */
	h = crash_applied_key(r->applied, st);
	h = mix_marks(h, marks_before(&r->marks, crash_state_point(st)));
	rc = hset_add(&r->seen_applied, h);
	if (rc < 0) {
		seterr(r->errbuf, r->errlen, "out of memory (dedup set)");
		return rc;
	}
	if (rc == 0)
		return 0;
	h = explore_state_key(&r->marks, st);
	rc = hset_add(&r->seen, h);
	if (rc < 0) {
		seterr(r->errbuf, r->errlen, "out of memory (dedup set)");
		return rc;
	}
	if (rc == 0)
		return 0;               /* the same contents were checked already */
	ord = rep->unique_states++;
	if (r->o->shard_n && h.lo % r->o->shard_n != r->o->shard_i - 1)
		return 0;
	/* Collect what finished meanwhile (start_state waits for a slot). */
	rc = reap(r, 0);
	if (rc < 0)
		return rc;
	return start_state(r, st, ord);
}

static int cmp_failure(const void *a, const void *b)
{
	const struct explore_failure *x = a, *y = b;

	return x->ordinal < y->ordinal ? -1 : x->ordinal > y->ordinal;
}

int explore_marks_init(struct explore_marks *m, const struct torn_trace *t)
{
	struct torn_event ev;
	uint64_t pos = 0;
	size_t cap = 0;

	memset(m, 0, sizeof(*m));
	while (t && trace_next(t, &pos, &ev) == 1) {
		if (ev.type != TORN_EV_MARK)
			continue;
		if (m->n == cap) {
			uint64_t *n = realloc(m->seq, (cap ? cap * 2 : 64) * sizeof(*n));

			if (!n) {
				explore_marks_free(m);
				return -ENOMEM;
			}
			m->seq = n;
			cap = cap ? cap * 2 : 64;
		}
		m->seq[m->n++] = ev.seq;
	}
	return 0;
}

void explore_marks_free(struct explore_marks *m)
{
	free(m->seq);
	memset(m, 0, sizeof(*m));
}

torn_hash explore_state_key(const struct explore_marks *m, struct crash_state *st)
{
	torn_hash h = crash_state_hash(st);
	uint64_t p = crash_state_point(st);
	size_t lo = 0, hi = m ? m->n : 0;

	/* Marks made before the crash point: those with seq < p. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->seq[mid] < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return mix_marks(h, lo);
}

int explore_run(const struct torn_trace *t, struct crash_space *space,
		const struct explore_opts *o, struct explore_report *rep, char *err,
		size_t errlen)
{
	struct sigsave save;
	struct run r;
	int rc;

	if (o->shard_n && (o->shard_i < 1 || o->shard_i > o->shard_n)) {
		seterr(err, errlen, "shard %u/%u out of range", o->shard_i, o->shard_n);
		return -EINVAL;
	}
	rc = run_init(&r, o, err, errlen);
	if (rc < 0)
		return rc;
	r.rep = rep;
	if (explore_marks_init(&r.marks, t) < 0 ||
	    !(r.marks_done = calloc(r.marks.n + 1, 1)) ||
	    !(r.pend = calloc(o->jobs, sizeof(*r.pend))) ||
	    !(r.pool = calloc(2 * o->jobs + 1, sizeof(*r.pool))) ||
	    !(r.pool_sd = calloc(2 * o->jobs + 1, sizeof(*r.pool_sd))) ||
	    !(r.sd = calloc(5 * o->jobs + 2, sizeof(*r.sd))) ||
	    crash_applied_new(space, &r.applied) < 0) {
		seterr(err, errlen, "out of memory");
		run_fini(&r);
		return -ENOMEM;
	}
	/* In the pool (2 jobs + 1), queued (jobs), in the slots (2 jobs),
	 * one being written.  No inotify (out of instances): every reused
	 * directory is rewritten whole. */
	r.nsd = 5 * o->jobs + 2;
	r.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (o->check_fn && o->forkserver) {
		/* Requests to the server do not block: no spawner thread. */
		r.fs_async = 1;
		r.fsq = calloc(o->jobs, sizeof(*r.fsq));
		r.wk = calloc(o->jobs, sizeof(*r.wk));
		rc = r.fsq && r.wk ? 0 : -ENOMEM;
		for (unsigned i = 0; r.wk && i < o->jobs; i++) {
			r.wk[i].pidfd = -1;
			r.wk[i].sock = -1;
		}
	} else {
		rc = spawner_start(&r);
	}
	if (rc < 0) {
		seterr(err, errlen, "cannot start a thread: %s", strerror(-rc));
		run_fini(&r);
		return rc;
	}
	rep->shard_i = o->shard_n ? o->shard_i : 0;
	rep->shard_n = o->shard_n;
	r.t0 = now_s();

	signals_catch(&save);

	/* The state right after an acknowledgement that a failed fsync made
	 * void is checked whatever the strategies, and first: a later state
	 * with the same files and marks is the same finding (deduplicated). */
	rc = crash_ackloss_visit(space, visit, &r);
	if (rc == 0)
		rc = crash_space_enumerate(space, visit, &r);
	if (rc == -E2BIG)
		seterr(err, errlen, "the exhaustive strategy would produce more states than "
		       "--max-states allows");
	if (rc >= 0)
		rc = pend_flush(&r, 2);
	while (rc >= 0 && r.njobs) {
		rc = reap(&r, 1);
		if (rc > 0)
			rc = 0;
	}
	if (rc > 0)
		rc = 0;
	if (rc == -EINTR || interrupted) {
		rc = -EINTR;
		seterr(err, errlen, "interrupted by signal %d", (int)interrupted);
	}
	progress(&r, 1);
	rep->elapsed_s = now_s() - r.t0;
	run_fini(&r);
	if (r.keep_any && !rep->scratch_kept)
		rep->scratch_kept = strdup(r.scratch);
	signals_restore(&save);
	if (rep->nfailures)
		qsort(rep->failures, rep->nfailures, sizeof(*rep->failures), cmp_failure);
	return rc;
}

/* ==========================================================================
 * 6. THE RUNNER: ONE STATE AT A TIME
 * ========================================================================== */

struct explore_runner {
	struct explore_opts o;
	struct run r;
	struct sigsave save;
	uint64_t n;
	char err[512];
};

int explore_runner_new(const struct explore_opts *o, struct explore_runner **out,
		       char *err, size_t errlen)
{
	struct explore_runner *x = calloc(1, sizeof(*x));
	int rc;

	if (!x) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x->o = *o;
	x->o.jobs = 1;
	x->o.keep_failing = 0;
	x->o.progress = NULL;
	rc = run_init(&x->r, &x->o, err, errlen);
	if (rc < 0) {
		free(x);
		return rc;
	}
	signals_catch(&x->save);
	*out = x;
	return 0;
}

void explore_runner_free(struct explore_runner *x)
{
	if (!x)
		return;
	run_fini(&x->r);
	signals_restore(&x->save);
	free(x);
}

static int run_single(struct run *r, struct explore_result *res)
{
	int rc;

	memset(res, 0, sizeof(*res));
	r->single = res;
	do
		rc = reap(r, 1);
	while (rc == 0 && r->njobs);
	r->single = NULL;
	if (rc == -EINTR || interrupted) {
		kill_all(r);
		seterr(r->errbuf, r->errlen, "interrupted");
		return -EINTR;
	}
	return rc < 0 ? rc : 0;
}

int explore_runner_check(struct explore_runner *x, struct crash_state *st,
			 struct explore_result *res, char *err, size_t errlen)
{
	struct run *r = &x->r;
	int rc;

	r->errbuf = err;
	r->errlen = errlen;
	if (interrupted) {
		seterr(err, errlen, "interrupted");
		return -EINTR;
	}
	rc = start_state(r, st, x->n++);
	if (rc < 0)
		return rc;
	return run_single(r, res);
}

int explore_check_dir(const struct explore_opts *o, const char *dir, const char *marks,
		      const char *id, const char *outfile, struct explore_result *res,
		      char *err, size_t errlen)
{
	struct explore_opts one = *o;
	struct run r;
	int rc;

	one.jobs = 1;
	one.keep_failing = 1;      /* the caller's directory stays */
	one.progress = NULL;
	rc = run_init(&r, &one, err, errlen);
	if (rc < 0)
		return rc;
	r.keep_dirs = 1;
	{
		char out[PATH_MAX + 40];

		if (outfile)
			snprintf(out, sizeof(out), "%s", outfile);
		else
			snprintf(out, sizeof(out), "%s/o0", r.scratch);
		rc = job_start(&r, &r.jobs[0], dir, marks, 0, out, !outfile, id, 0, 0);
	}
	if (rc == 0)
		rc = run_single(&r, res);
	run_fini(&r);
	return rc;
}

/* ==========================================================================
 * 7. REPORTS, OPTIONS IMPLIED BY AN ID
 * ========================================================================== */

void explore_report_init(struct explore_report *r)
{
	memset(r, 0, sizeof(*r));
}

void explore_report_free(struct explore_report *r)
{
	if (!r)
		return;
	free(r->trace);
	free(r->trace_hash);
	for (size_t i = 0; i < r->noptions; i++) {
		free(r->options[i].key);
		free(r->options[i].val);
	}
	free(r->options);
	for (size_t i = 0; i < r->nfailures; i++) {
		free(r->failures[i].state);
		free(r->failures[i].kept);
		explore_result_free(&r->failures[i].res);
	}
	free(r->failures);
	free(r->scratch_kept);
	memset(r, 0, sizeof(*r));
}

int explore_report_option(struct explore_report *r, const char *key, const char *val, int is_num)
{
	struct explore_kv *n = realloc(r->options, (r->noptions + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	r->options = n;
	n[r->noptions].key = strdup(key);
	n[r->noptions].val = strdup(val);
	n[r->noptions].is_num = is_num;
	if (!n[r->noptions].key || !n[r->noptions].val) {
		free(n[r->noptions].key);
		free(n[r->noptions].val);
		return -ENOMEM;
	}
	r->noptions++;
	return 0;
}

int explore_opts_from_id(struct crash_opts *co, const char *id, int sector_set, int atomic_set,
			 int model_set, char *err, size_t errlen)
{
	const char *slash = strchr(id, '/');
	unsigned sector = 512, atomic = 0;
	enum crash_model model = CRASH_MODEL_AUTO;

	if (slash) {
		const char *p = id;
		char *end;

		if (*p != 's')
			goto bad;
		sector = (unsigned)strtoul(p + 1, &end, 10);
		if (end == p + 1)
			goto bad;
		p = end;
		if (*p == 'a') {
			atomic = (unsigned)strtoul(p + 1, &end, 10);
			if (end == p + 1)
				goto bad;
			p = end;
		}
		if (*p == 'm') {
			if (p[1] == 'b')
				model = CRASH_MODEL_BUFFERED;
			else if (p[1] == 'd')
				model = CRASH_MODEL_DIRECT;
			else
				goto bad;
			p += 2;
		}
		if (p != slash)
			goto bad;
	}
	if (sector_set && co->sector != sector) {
		seterr(err, errlen, "state id '%s' was made with --sector %u, not %u", id, sector,
		       co->sector);
		return -EINVAL;
	}
	if (atomic_set && (co->atomic ? co->atomic : co->sector) != (atomic ? atomic : sector)) {
		seterr(err, errlen, "state id '%s' was made with --atomic %u, not %u", id,
		       atomic ? atomic : sector, co->atomic ? co->atomic : co->sector);
		return -EINVAL;
	}
	if (model_set && co->model != model) {
		seterr(err, errlen, "state id '%s' was made with --model %s", id,
		       model == CRASH_MODEL_AUTO ? "auto" :
		       model == CRASH_MODEL_BUFFERED ? "buffered" : "direct");
		return -EINVAL;
	}
	co->sector = sector;
	co->atomic = atomic;
	co->model = model;
	/* The tear patterns its deviations use must be allowed. */
	for (const char *p = strchr(id, ':'); p; p = strchr(p + 1, ':')) {
		if (p[1] == 'z')
			co->tear |= CRASH_TEAR_ZEROS;
		else if (p[1] == 'g')
			co->tear |= CRASH_TEAR_GARBAGE;
	}
	return 0;
bad:
	seterr(err, errlen, "state id '%s': bad parameters before '/' (expected sSECTOR[aATOMIC][mb|md])",
	       id);
	return -EINVAL;
}
