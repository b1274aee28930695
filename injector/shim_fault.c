/*
 * injector/shim_fault.c - fault injection in the wrappers (issue 7).
 *
 * Sections: 1. state and start-up, 2. fork and exec, 3. deciding,
 * 4. applying, 5. io_uring completions.
 *
 * The specs come from $TORN_FAULTS (one per line, fault_spec.h's grammar,
 * validated by `torn record` first) and the seed from $TORN_FAULT_SEED.
 * Nothing is parsed or enabled when the variable is absent, and the
 * wrappers then pay one predictable branch on shim_faults_on.
 *
 * Two kinds of rule, two scopes (docs/faults.md):
 *   - the libfiu form is applied with libfiu itself (fiu_init,
 *     fiu_set_prng_seed, fiu_rc_string at start-up; fiu_fail and
 *     fiu_failinfo in the wrapper).  libfiu's state is per process, as under
 *     fiu-run: a fork child inherits a copy (onetime points that fired stay
 *     fired) and gets its own generator seed, derived from its parent's
 *     seed and how many children the parent forked before; an exec'd image
 *     starts afresh from the specs, with a seed derived from its
 *     predecessor's and its exec count.  So a run is reproducible from
 *     --fault-seed as long as the program forks and execs in the same order.
 *   - torn's CALL@PATH#N=WHAT counts calls over the whole process tree: the
 *     counters live in the shared control block (shm.h fault_count[]) and
 *     are bumped under the global lock, so "the 3rd fsync of wal.log" is the
 *     3rd in the trace, whichever process made it.
 *
 * Only calls that concern the recording root get here (the wrappers decided
 * that before).  The decision is taken under the global lock, the FAULT
 * event is emitted under it right before the call's own event, and a failed
 * call never reaches the kernel (a short write passes only its prefix).
 * Nothing here allocates once the program runs: libfiu allocates in
 * fiu_rc_string, called by the constructor only.
 */
#include <fiu.h>
#include <fiu-control.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fault_spec.h"
#include "shim_int.h"

/* ==========================================================================
 * 1. STATE AND START-UP
 * ========================================================================== */

int shim_faults_on;

static struct fault_spec g_specs[FAULT_SPECS_MAX];
static int g_nspecs;
static int g_have_fiu;                  /* some spec is of the libfiu form */
static int g_have_torn;

static uint64_t g_seed;                 /* this process's seed */
static uint64_t g_rng;                  /* its generator (errno draws, short lengths) */
static unsigned g_forks, g_execs;       /* children forked, images exec'd from this one */

/* For exec: "TORN_FAULTS=..." as at start-up, "TORN_FAULT_SEED=N" per exec. */
static char g_env_specs[sizeof(SHIM_ENV_FAULTS) + FAULT_SPECS_MAX * FAULT_TEXT_MAX];
static char g_env_seed[sizeof(SHIM_ENV_FAULT_SEED) + 24];

/* splitmix64: a seed mixer and a small generator in one. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rng_next(void)
{
	g_rng += 0x9e3779b97f4a7c15ull;
	return mix64(g_rng);
}

static void say(const char *a, const char *b, const char *c)
{
	const char *parts[4] = { "torn shim: ", a, b, c };

	for (int i = 0; i < 4; i++)
		if (parts[i])
			(void)!syscall(SYS_write, 2, parts[i], strlen(parts[i]));
	(void)!syscall(SYS_write, 2, "\n", 1);
}

static void seed_apply(uint64_t seed)
{
	g_seed = seed;
	g_rng = mix64(seed ^ 0x746f726e6661756cull);     /* "tornfaul" */
	/* libfiu: before fiu_init, or in a fork child (its own rule). */
	fiu_set_prng_seed((unsigned)(mix64(seed) & 0xffffffffu));
}

static void fault_prepare(void)
{
	g_forks++;
}

static void fault_child(void)
{
	seed_apply(mix64(g_seed ^ ((uint64_t)g_forks << 32)));
	g_forks = 0;
	g_execs = 0;
}

/* After shim_init (101), before anything records: the wrappers only look
 * at shim_faults_on once they know the call concerns the root. */
__attribute__((constructor(102))) static void shim_fault_init(void)
{
	const char *env = getenv(SHIM_ENV_FAULTS), *seed = getenv(SHIM_ENV_FAULT_SEED);
	char line[FAULT_TEXT_MAX], err[512];

	if (!env || !*env || !getenv(SHIM_ENV_CTL))
		return;
	if (strlen(env) + sizeof(SHIM_ENV_FAULTS) + 1 > sizeof(g_env_specs)) {
		say("$" SHIM_ENV_FAULTS " is too long: no faults injected", NULL, NULL);
		return;
	}
	snprintf(g_env_specs, sizeof(g_env_specs), "%s=%s", SHIM_ENV_FAULTS, env);
	seed_apply(seed && *seed ? strtoull(seed, NULL, 10) : 0);
	for (const char *p = env; *p;) {
		size_t n = strcspn(p, "\n");

		if (n && n < sizeof(line) && g_nspecs < FAULT_SPECS_MAX) {
			memcpy(line, p, n);
			line[n] = '\0';
			if (fault_spec_parse(line, &g_specs[g_nspecs], err, sizeof(err)) == 0)
				g_nspecs++;
			else
				say("$" SHIM_ENV_FAULTS ": ", err, " (ignored)");
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	if (!g_nspecs)
		return;
	for (int i = 0; i < g_nspecs; i++) {
		if (g_specs[i].form == FAULT_FORM_TORN) {
			g_have_torn = 1;
			continue;
		}
		if (!g_have_fiu && fiu_init(0) != 0) {
			say("libfiu's fiu_init failed: no faults injected", NULL, NULL);
			return;
		}
		g_have_fiu = 1;
		char cmd[FAULT_TEXT_MAX], *fiu_err = NULL;

		if (fault_spec_fiu_cmd(&g_specs[i], cmd, sizeof(cmd)) < 0 ||
		    fiu_rc_string(cmd, &fiu_err) != 0)
			say("libfiu refused '", cmd, fiu_err ? fiu_err : "'");
	}
	pthread_atfork(fault_prepare, NULL, fault_child);
	__atomic_store_n(&shim_faults_on, 1, __ATOMIC_RELEASE);
}

/* ==========================================================================
 * 2. FORK AND EXEC
 * ========================================================================== */

const char *shim_fault_env_specs(void)
{
	return shim_faults_on ? g_env_specs : "";
}

/* The seed of the next image this process execs: derived, so that two
 * images exec'd from one process (a vfork child's exec counts in its
 * parent's memory) differ. */
const char *shim_fault_env_seed(void)
{
	if (!shim_faults_on)
		return "";
	g_execs++;
	snprintf(g_env_seed, sizeof(g_env_seed), "%s=%llu", SHIM_ENV_FAULT_SEED,
		 (unsigned long long)mix64(g_seed ^ (0x65786563ull << 32) ^ g_execs));
	return g_env_seed;
}

/* ==========================================================================
 * 3. DECIDING
 * ========================================================================== */

/* Where the call's path comes from (c->fault_where). */
enum { WHERE_NONE, WHERE_FD, WHERE_ROOT, WHERE_P1, WHERE_P2 };

static int call_where(const struct shim_call *c, const char *call)
{
	if (c->f)
		return WHERE_FD;
	if (!strcmp(call, "syncfs"))
		return WHERE_ROOT;              /* any descriptor of the root's file system */
	if (c->p1.in)
		return WHERE_P1;
	return c->p2.in ? WHERE_P2 : WHERE_NONE;
}

/* The call's path relative to the root (@len bytes), or NULL. */
static const char *call_path(const struct shim_call *c, struct shim_path *tmp, size_t *len)
{
	const struct shim_path *p;

	switch (c->fault_where) {
	case WHERE_FD:
		if (shim_path_fd(tmp, c->fd) < 0 || !tmp->in)
			return NULL;
		p = tmp;
		break;
	case WHERE_ROOT:
		*len = 0;
		return "";
	case WHERE_P1: p = &c->p1; break;
	case WHERE_P2: p = &c->p2; break;
	default: return NULL;
	}
	*len = shim_path_rel_len(p);
	return shim_path_rel(p);
}

/* Is @call one of the write calls (whose c->w the pre_ hook filled)? */
static int is_write_call(const char *call)
{
	static const char *const w[] = { "write", "pwrite", "pwrite64", "writev", "pwritev",
					 "pwritev64", "pwritev2", "pwritev64v2" };

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (!strcmp(call, w[i]))
			return 1;
	return 0;
}

/* Bytes the call asks to write (0 for a call that is not a write). */
static uint64_t write_len(const struct shim_call *c)
{
	uint64_t n = 0;

	if (c->w.cnt < 0 || c->w.cnt > IOV_MAX)
		return 0;
	for (int i = 0; i < c->w.cnt; i++)
		n += c->w.iov[i].iov_len;
	return n;
}

static int draw_errno(const char *point)
{
	const struct fault_point *p = fault_point_find(point);
	int n = 0;

	if (!p)
		return EIO;
	while (p->errnos[n])
		n++;
	return n ? p->errnos[rng_next() % (uint64_t)n] : EIO;
}

/* The errno of a libfiu point that fired: its failinfo, or one drawn. */
static int fiu_errno(const char *point)
{
	long info = (long)(intptr_t)fiu_failinfo();

	return info > 0 && info <= 4095 ? (int)info : draw_errno(point);
}

int shim_fault_check(struct shim_call *c, const char *point, const char *call)
{
	uint64_t *counts;
	struct shim_path tmp;
	const char *path = NULL;
	size_t plen = 0;
	uint64_t want = 0;
	int took = 0, fired = 0;

	if (!point)
		return 0;
	c->fault_err = 0;
	c->fault_keep = 0;
	c->fault_point = point;
	c->fault_where = call_where(c, call);
	if (!c->lk.held) {
		shim_lock(&c->lk);
		took = 1;
	}
	want = is_write_call(call) ? write_len(c) : 0;
	counts = shim_fault_counts();
	/* torn's rules: every rule that names this call and path counts it. */
	for (int i = 0; g_have_torn && i < g_nspecs; i++) {
		const struct fault_spec *s = &g_specs[i];
		uint64_t n;

		if (s->form != FAULT_FORM_TORN || strcmp(s->point, point))
			continue;
		if (!path && !(path = call_path(c, &tmp, &plen)))
			break;
		if (strlen(s->path) != plen || memcmp(s->path, path, plen))
			continue;
		n = counts ? ++counts[i] : 0;
		if (fired || n < s->nth || (n > s->nth && !s->and_later))
			continue;
		if (s->is_short) {
			uint64_t keep = s->short_bytes ? s->short_bytes : want / 2;

			if (want < 2)
				continue;               /* nothing to shorten */
			c->fault_keep = keep < want ? keep : want - 1;
		} else {
			c->fault_err = s->err;
		}
		fired = 1;
	}
	/* libfiu's points: the failure first, then the short count. */
	if (!fired && g_have_fiu) {
		if (fiu_fail(point)) {
			c->fault_err = fiu_errno(point);
			fired = 1;
		} else if (want >= 2) {
			char rp[FAULT_POINT_MAX + 8];

			snprintf(rp, sizeof(rp), "%s/reduce", point);
			if (fiu_fail(rp)) {
				c->fault_keep = 1 + rng_next() % (want - 1);
				c->fault_point = fault_point_find(rp) ? fault_point_find(rp)->name : point;
				fired = 1;
			}
		}
	}
	if (!fired && took)
		shim_unlock(&c->lk);
	return fired;
}

const char *shim_call_point(const char *name)
{
	for (const struct shim_call_info *i = shim_call_info; i->name; i++)
		if (!strcmp(i->name, name))
			return i->fiu;
	return NULL;
}

/* ==========================================================================
 * 4. APPLYING
 * ========================================================================== */

static void emit_fault(struct shim_call *c, int64_t result, uint16_t flags)
{
	struct torn_event ev = { .type = TORN_EV_FAULT };
	struct shim_path tmp;
	size_t plen = 0;
	const char *path = NULL;

	if (c->f) {
		ev.handle = c->f->handle;
		ev.ino = c->f->ino;
	} else {
		ev.ino = c->ino;
	}
	path = call_path(c, &tmp, &plen);
	ev.flags = flags;
	ev.result = result;
	ev.text = c->fault_point;
	ev.text_len = (uint32_t)strlen(c->fault_point);
	ev.path = path;
	ev.path_len = (uint32_t)plen;
	shim_emit(&ev);
}

/* The prefix of a write: the same call with fewer bytes.  At most
 * SHORT_IOV segments are kept (the wrapper runs on the program's stack): a
 * prefix that would need more is cut at their end, a shorter write still. */
#define SHORT_IOV 64

static ssize_t short_write(struct shim_call *c, uint64_t keep)
{
	const struct shim_write *w = &c->w;
	struct iovec v[SHORT_IOV];
	int n = 0;

	for (uint64_t left = keep; n < w->cnt && n < SHORT_IOV && left; n++) {
		v[n] = w->iov[n];
		if (v[n].iov_len > left)
			v[n].iov_len = left;
		left -= v[n].iov_len;
	}
	errno = c->errno0;
	switch (w->src) {
	case TORN_SRC_WRITE:    return SHIM_REAL(write)(w->fd, v[0].iov_base, v[0].iov_len);
	case TORN_SRC_PWRITE:   return SHIM_REAL(pwrite64)(w->fd, v[0].iov_base, v[0].iov_len, w->off);
	case TORN_SRC_WRITEV:   return SHIM_REAL(writev)(w->fd, v, n);
	case TORN_SRC_PWRITEV:  return SHIM_REAL(pwritev64)(w->fd, v, n, w->off);
	default:                return SHIM_REAL(pwritev64v2)(w->fd, v, n, w->off, w->flags);
	}
}

int64_t shim_fault_apply(struct shim_call *c, int64_t errv)
{
	int64_t r;

	if (c->fault_keep) {
		r = short_write(c, c->fault_keep);
		c->err = errno;
		emit_fault(c, r, TORN_F_SHORT);
		errno = c->err;
		return r;
	}
	emit_fault(c, -(int64_t)c->fault_err, 0);
	/* posix_fallocate (error value 0) returns the error number itself. */
	if (errv == 0) {
		errno = c->errno0;
		return c->fault_err;
	}
	errno = c->fault_err;
	return errv;
}

/* ==========================================================================
 * 5. IO_URING COMPLETIONS
 * ==========================================================================
 *
 * Decided at submission (under the lock, in submission order), applied
 * when the completion is first seen: its res is replaced by -errno in the
 * completion ring itself, before the program reads it, and a FAULT event
 * goes right before the CQE event.  A completion the program reads without
 * any call the shim sees in between (liburing's inline peek of an entry
 * completed asynchronously) may escape: docs/faults.md. */

#define URING_ARMED 64

static struct {
	const void *ring;       /* NULL: free */
	uint64_t    ud, handle, ino;
	int         err;
	const char *point;
} g_armed[URING_ARMED];

void shim_fault_uring_arm(const void *ring, uint64_t ud, unsigned op, int fd, struct shim_fd *f)
{
	struct shim_call c = { 0 };
	const char *point;
	int slot = -1;

	if (op == IORING_OP_WRITE || op == IORING_OP_WRITEV || op == IORING_OP_WRITE_FIXED)
		point = "torn/uring/write";
	else if (op == IORING_OP_FSYNC)
		point = "torn/uring/fsync";
	else
		return;
	for (int i = 0; i < URING_ARMED && slot < 0; i++)
		if (!g_armed[i].ring)
			slot = i;
	if (slot < 0)
		return;                 /* 64 faults in flight: the rest complete as they are */
	c.lk.held = 2;                  /* the caller holds the lock */
	c.f = f;
	c.fd = fd;
	if (!shim_fault_check(&c, point, point + strlen("torn/uring/")))
		return;
	g_armed[slot].ring = ring;
	g_armed[slot].ud = ud;
	g_armed[slot].handle = f ? f->handle : 0;
	g_armed[slot].ino = f ? f->ino : 0;
	g_armed[slot].err = c.fault_err ? c.fault_err : EIO;
	g_armed[slot].point = c.fault_point;
}

void shim_fault_uring_cqe(const void *ring, struct io_uring_cqe *cqe)
{
	for (int i = 0; i < URING_ARMED; i++) {
		if (g_armed[i].ring != ring || g_armed[i].ud != cqe->user_data)
			continue;
		struct torn_event ev = { .type = TORN_EV_FAULT };

		ev.handle = g_armed[i].handle;
		ev.ino = g_armed[i].ino;
		ev.result = -(int64_t)g_armed[i].err;
		ev.aux_seq = cqe->user_data;
		ev.text = g_armed[i].point;
		ev.text_len = (uint32_t)strlen(g_armed[i].point);
		g_armed[i].ring = NULL;
		shim_emit(&ev);
		cqe->res = -g_armed[i].err;
		return;
	}
}
