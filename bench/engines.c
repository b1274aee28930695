/*
 * bench/engines.c - puts/s of the bundled engines against SQLite.
 *
 *   engines-bench DIR [EVERY_OPS] [NONE_OPS]
 *
 * For each engine and I/O mode: EVERY_OPS puts each acknowledged by its
 * own sync (--sync every), then NONE_OPS puts with one sync at the end
 * (--sync none); 100-byte values, keys drawn from 10,000.  At --sync
 * every, commits go through tornkv's window (eng_window): up to 16 in
 * flight where the engine has an asynchronous commit, which only the
 * uring back end really overlaps (buffered and direct complete each at
 * its start).  The same
 * workload through SQLite's C API (WAL mode; synchronous FULL, then OFF;
 * one autocommit INSERT OR REPLACE per put) is the reference a user would
 * pick instead.  Prints the figures and the ratios; never fails on timing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "engines/engine.h"

#define VSIZE 100
#define NKEYS 10000
#define INFLIGHT 16 /* commits in flight at --sync every (tornkv's default) */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rmrf(const char *d)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd) != 0)
		fprintf(stderr, "engines-bench: could not remove %s\n", d);
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* puts/s, or a negative errno */
static double run_engine(const struct eng_ops *ops, enum eio_mode mode, const char *dir,
			 unsigned n, int every)
{
	struct eng_opts o = { dir, mode, -1 };
	char key[16], val[VSIZE];
	uint64_t s = 88172645463325252ull;
	void *e = NULL;
	double t0, t;
	int rc;

	struct eng_window win;
	uint64_t done;

	rmrf(dir);
	rc = ops->open(&e, &o);
	if (rc < 0)
		return rc;
	/* tornkv's window: up to INFLIGHT commits in flight where the engine
	 * pipelines them (sync_start; in direct and buffered mode a start is
	 * the whole sync), each put acknowledged in order when its own commit
	 * completed */
	eng_window_init(&win, ops, e, INFLIGHT);
	memset(val, 'v', sizeof(val));
	t0 = now();
	for (unsigned i = 0; i < n; i++) {
		struct eng_op op = { ENG_PUT, key, 0, val, VSIZE };
		op.klen = (size_t)snprintf(key, sizeof(key), "k%llu",
					   (unsigned long long)(rng(&s) % NKEYS));
		memcpy(val, &i, sizeof(i));
		rc = ops->apply(e, &op, 1);
		if (rc == 0 && every) {
			rc = eng_window_push(&win, i);
			while (rc == 0 && (rc = eng_window_pop(&win, 0, &done)) == 1)
				rc = 0;
		}
		if (rc < 0)
			break;
	}
	while (rc == 0 && (rc = eng_window_pop(&win, 1, &done)) == 1)
		rc = 0;
	if (rc == 0)
		rc = ops->sync(e);
	t = now() - t0;
	ops->close(e);
	rmrf(dir);
	return rc < 0 ? rc : n / t;
}

static double run_sqlite(const char *dir, unsigned n, int full)
{
	char path[4200], key[16], val[VSIZE];
	uint64_t s = 88172645463325252ull;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	double t0, t = -1;

	rmrf(dir);
	if (mkdir(dir, 0755) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/bench.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		goto out;
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF", NULL,
			 NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID", NULL,
			 NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv VALUES(?1, ?2)", -1, &st, NULL) !=
		    SQLITE_OK)
		goto out;
	memset(val, 'v', sizeof(val));
	t0 = now();
	for (unsigned i = 0; i < n; i++) {
		int kl = snprintf(key, sizeof(key), "k%llu", (unsigned long long)(rng(&s) % NKEYS));
		memcpy(val, &i, sizeof(i));
		sqlite3_bind_text(st, 1, key, kl, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, val, VSIZE, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
		sqlite3_reset(st);
	}
	t = n / (now() - t0);
out:
	if (t < 0)
		fprintf(stderr, "engines-bench: sqlite: %s\n", db ? sqlite3_errmsg(db) : "open failed");
	sqlite3_finalize(st);
	sqlite3_close(db);
	rmrf(dir);
	return t;
}

int main(int argc, char **argv)
{
	const struct eng_ops *const *all = eng_all();
	unsigned every_n = argc > 2 ? (unsigned)atoi(argv[2]) : 1000;
	unsigned none_n = argc > 3 ? (unsigned)atoi(argv[3]) : 100000;
	double sq_full, sq_off, res[8][3][2];
	char dir[4096];
	int ne = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: engines-bench DIR [EVERY_OPS] [NONE_OPS]\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/engines-bench", argv[1]);
	sq_full = run_sqlite(dir, every_n, 1);
	sq_off = run_sqlite(dir, none_n, 0);
	printf("puts/s, 100-byte values, %u keys (--sync every: %u puts, --sync none: %u puts)\n",
	       NKEYS, every_n, none_n);
	printf("--sync every: each put acknowledged by its own commit; uring keeps up to %d\n"
	       "commits in flight where the engine pipelines them (", INFLIGHT);
	for (int i = 0; all[i]; i++)
		printf("%s%s %s", i ? ", " : "", all[i]->name, all[i]->sync_start ? "yes" : "no");
	printf("), direct one at a time\n");
	printf("%-8s %-9s %14s %14s %18s\n", "engine", "mode", "sync every", "sync none",
	       "none vs sqlite OFF");
	for (int i = 0; all[i]; i++, ne++) {
		for (int m = 0; m < 3; m++) {
			res[i][m][0] = run_engine(all[i], (enum eio_mode)m, dir, every_n, 1);
			res[i][m][1] = run_engine(all[i], (enum eio_mode)m, dir, none_n, 0);
			printf("%-8s %-9s %14.0f %14.0f %17.2fx\n", all[i]->name,
			       eio_mode_name((enum eio_mode)m), res[i][m][0], res[i][m][1],
			       sq_off > 0 ? res[i][m][1] / sq_off : 0.0);
		}
	}
	printf("%-8s %-9s %14.0f %14.0f %17.2fx\n", "sqlite", "WAL", sq_full, sq_off, 1.0);
	printf("\ntargets: every engine at --sync none >= 0.5x SQLite (synchronous=OFF); "
	       "uring ahead of direct at --sync every\n");
	for (int i = 0; i < ne; i++)
		printf("  %-8s none/sqlite-off %5.2fx %s   uring/direct at every %5.2fx %s\n",
		       all[i]->name, res[i][0][1] / sq_off,
		       res[i][0][1] >= 0.5 * sq_off ? "met" : "MISSED",
		       res[i][2][0] / res[i][1][0], res[i][2][0] > res[i][1][0] ? "met" : "MISSED");
	return 0;
}
