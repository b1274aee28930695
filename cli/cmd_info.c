/*
 * cli/cmd_info.c - torn info TRACE: what a trace holds, in one screen.
 *
 * Sections: the counters; one pass over the trace; the report.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cli.h"
#include "tracecli.h"

#define INFO_LIST_MAX 8     /* listed items (faults, unsupported) before "and N more" */

struct sync_count {
	uint64_t ok, failed;
};

struct info {
	uint64_t by_type[256];
	uint64_t records, blobs, blob_bytes;
	uint64_t writes, write_failed, write_bytes, direct, buffered, sync_writes, misaligned;
	uint64_t uring_bytes, snapshot_bytes;
	uint64_t referenced;          /* bytes of content named by events */
	struct sync_count fsync_file, fsync_dir, fdatasync_file, fdatasync_dir;
	struct sync_count sync, syncfs, sync_range;
	uint64_t first_seq, last_seq;
	int64_t  end_status;
	int      have_end;
	const char *command; uint32_t command_len;
	struct tcli_map handles;      /* handle -> struct tcli_handle */
	struct tcli_map pids;         /* set */
	struct tcli_map paths;        /* set of path hashes */
	struct torn_event listed[2][INFO_LIST_MAX];    /* faults, unsupported/mmap/msync */
	uint64_t nlisted[2];
};

static void usage(FILE *f)
{
	fputs("usage: torn info TRACE\n"
	      "\n"
	      "Summarise a trace: root, command, whether it is complete, events by kind,\n"
	      "processes, files, bytes written and stored, durability points, marks,\n"
	      "direct and buffered writes, misaligned writes, faults, unsupported calls.\n"
	      "\n"
	      "  -h, --help   show this help\n", f);
}

static int note_path(struct info *in, const char *p, uint32_t len, int64_t result)
{
	if (!len || result < 0)
		return 0;          /* the root itself, or a call that failed */
	return tcli_map_get(&in->paths, tcli_path_hash(p, len), NULL) ? 0 : -ENOMEM;
}

static void note_sync(struct sync_count *c, const struct torn_event *ev)
{
	if (ev->result < 0)
		c->failed++;
	else
		c->ok++;
}

static void note_listed(struct info *in, int which, const struct torn_event *ev)
{
	if (in->nlisted[which] < INFO_LIST_MAX)
		in->listed[which][in->nlisted[which]] = *ev;
	in->nlisted[which]++;
}

/* One event. */
static int account(struct info *in, const struct torn_event *ev)
{
	struct tcli_handle *h;
	int is_dir;

	in->by_type[ev->type & 0xff]++;
	if (!in->first_seq)
		in->first_seq = ev->seq;
	in->last_seq = ev->seq;
	/* Processes of the program: the context records (root, snapshot, end)
	 * are written by the recorder, under its own pid. */
	if ((ev->type < TORN_EV_ROOT || ev->type > TORN_EV_INIT_DONE) && ev->type != TORN_EV_END &&
	    !tcli_map_get(&in->pids, ev->pid, NULL))
		return -ENOMEM;

	switch (ev->type) {
	case TORN_EV_ROOT:
		in->command = ev->text;
		in->command_len = ev->text_len;
		break;
	case TORN_EV_END:
		in->have_end = 1;
		in->end_status = ev->result;
		break;
	case TORN_EV_INIT_FILE:
	case TORN_EV_IMPORT:
		in->snapshot_bytes += (uint64_t)ev->len;
		in->referenced += (uint64_t)ev->len;
		if (ev->type == TORN_EV_IMPORT && note_path(in, ev->path, ev->path_len, ev->result) < 0)
			return -ENOMEM;
		break;
	case TORN_EV_OPEN:
		if (ev->result >= 0 && ev->handle) {
			if (!(h = tcli_map_get(&in->handles, ev->handle, NULL)))
				return -ENOMEM;
			h->path = ev->path;
			h->path_len = ev->path_len;
			h->flags = ev->flags;
			h->oflags = ev->oflags;
		}
		if (!(ev->flags & TORN_F_DIR) && note_path(in, ev->path, ev->path_len, ev->result) < 0)
			return -ENOMEM;
		break;
	case TORN_EV_WRITE:
		in->writes++;
		if (ev->result < 0) {
			in->write_failed++;
			break;
		}
		in->write_bytes += (uint64_t)ev->result;
		in->referenced += (uint64_t)ev->result;
		if (ev->flags & TORN_F_DIRECT)
			in->direct++;
		else
			in->buffered++;
		if (ev->flags & TORN_F_SYNC)
			in->sync_writes++;
		if (ev->flags & TORN_F_MISALIGNED)
			in->misaligned++;
		break;
	case TORN_EV_URING_SUBMIT:
		if (ev->nchunks) {
			in->uring_bytes += (uint64_t)ev->len;
			in->referenced += (uint64_t)ev->len;
		}
		break;
	case TORN_EV_FSYNC:
		h = tcli_map_find(&in->handles, ev->handle);
		is_dir = h && (h->flags & TORN_F_DIR);
		if (ev->aux == TORN_SYNC_FDATASYNC)
			note_sync(is_dir ? &in->fdatasync_dir : &in->fdatasync_file, ev);
		else
			note_sync(is_dir ? &in->fsync_dir : &in->fsync_file, ev);
		break;
	case TORN_EV_SYNC:        note_sync(&in->sync, ev); break;
	case TORN_EV_SYNCFS:      note_sync(&in->syncfs, ev); break;
	case TORN_EV_SYNC_RANGE:  note_sync(&in->sync_range, ev); break;
	case TORN_EV_TRUNCATE:
	case TORN_EV_UNLINK:
	case TORN_EV_MKDIR:
	case TORN_EV_RMDIR:
	case TORN_EV_SYMLINK:
		if (note_path(in, ev->path, ev->path_len, ev->result) < 0)
			return -ENOMEM;
		break;
	case TORN_EV_RENAME:
	case TORN_EV_LINK:
		if (note_path(in, ev->path, ev->path_len, ev->result) < 0 ||
		    note_path(in, ev->path2, ev->path2_len, ev->result) < 0)
			return -ENOMEM;
		break;
	case TORN_EV_FAULT:
		note_listed(in, 0, ev);
		break;
	case TORN_EV_MMAP:
	case TORN_EV_MSYNC:
	case TORN_EV_UNSUPPORTED:
		note_listed(in, 1, ev);
		break;
	}
	return 0;
}

static void row(const char *label)
{
	printf("  %-20s ", label);
}

static void sync_row(const char *label, const struct sync_count *c)
{
	if (!c->ok && !c->failed)
		return;
	row(label);
	printf("%llu", (unsigned long long)c->ok);
	if (c->failed)
		printf(" (+%llu failed)", (unsigned long long)c->failed);
	putchar('\n');
}

/* Where an mmap/msync/unsupported event happened, for the list. */
static void put_subject(const struct info *in, const struct torn_event *ev)
{
	const struct tcli_handle *h = ev->handle ? tcli_map_find(&in->handles, ev->handle) : NULL;

	if (ev->path_len)
		tcli_put_text(stdout, ev->path, ev->path_len);
	else if (h)
		tcli_put_text(stdout, h->path, h->path_len);
}

static void report(const struct torn_trace *t, const struct info *in, uint64_t file_size)
{
	char a[64], b[64];
	uint64_t durable;

	printf("trace %s\n", trace_path(t));
	row("size");
	printf("%s in %llu records (%llu events, %llu blobs)\n", tcli_size(file_size, a, sizeof(a)),
	       (unsigned long long)in->records, (unsigned long long)trace_nevents(t),
	       (unsigned long long)in->blobs);
	row("root");
	printf("%s\n", trace_root(t)[0] ? trace_root(t) : "(not recorded)");
	row("command");
	if (in->command_len)
		tcli_put_text(stdout, in->command, in->command_len);
	else
		fputs("(not recorded)", stdout);
	putchar('\n');
	row("status");
	if (!trace_truncated(t)) {
		int ws = (int)in->end_status;

		/* END's result is the program's wait status. */
		if (WIFEXITED(ws))
			printf("complete (program exited %d)\n", WEXITSTATUS(ws));
		else if (WIFSIGNALED(ws))
			printf("complete (program killed by signal %d, SIG%s)\n", WTERMSIG(ws),
			       sigabbrev_np(WTERMSIG(ws)) ? sigabbrev_np(WTERMSIG(ws)) : "?");
		else
			printf("complete (program wait status %#x)\n", (unsigned)ws);
	} else if (trace_tail_bytes(t)) {
		printf("truncated: %llu bytes of a cut-short record after the last whole one "
		       "(read up to seq %llu)\n", (unsigned long long)trace_tail_bytes(t),
		       (unsigned long long)trace_last_seq(t));
	} else {
		printf("truncated: no end record (read up to seq %llu)\n",
		       (unsigned long long)trace_last_seq(t));
	}
	row("seqs");
	printf("%llu .. %llu\n", (unsigned long long)in->first_seq, (unsigned long long)in->last_seq);
	row("processes");
	printf("%zu (fork %llu, exec %llu, exit %llu)\n", in->pids.n,
	       (unsigned long long)in->by_type[TORN_EV_PROC_FORK],
	       (unsigned long long)in->by_type[TORN_EV_PROC_EXEC],
	       (unsigned long long)in->by_type[TORN_EV_PROC_EXIT]);
	row("files touched");
	printf("%zu\n", in->paths.n);
	row("snapshot");
	printf("%llu files, %llu directories, %llu symlinks, %s\n",
	       (unsigned long long)in->by_type[TORN_EV_INIT_FILE],
	       (unsigned long long)in->by_type[TORN_EV_INIT_DIR],
	       (unsigned long long)in->by_type[TORN_EV_INIT_SYMLINK],
	       tcli_size(in->snapshot_bytes, a, sizeof(a)));

	printf("\nwrites\n");
	row("writes");
	printf("%llu", (unsigned long long)in->writes);
	if (in->write_failed)
		printf(" (%llu failed)", (unsigned long long)in->write_failed);
	putchar('\n');
	row("buffered");
	printf("%llu\n", (unsigned long long)in->buffered);
	row("direct (O_DIRECT)");
	printf("%llu\n", (unsigned long long)in->direct);
	row("durable on return");
	printf("%llu (O_SYNC, O_DSYNC, RWF_DSYNC, RWF_SYNC)\n", (unsigned long long)in->sync_writes);
	row("misaligned direct");
	printf("%llu%s\n", (unsigned long long)in->misaligned,
	       in->misaligned ? "  <- not aligned to the file's direct-I/O alignment" : "");
	row("bytes written");
	printf("%s\n", tcli_size(in->write_bytes, a, sizeof(a)));
	if (in->uring_bytes) {
		row("io_uring writes");
		printf("%s submitted\n", tcli_size(in->uring_bytes, a, sizeof(a)));
	}
	row("unique payload");
	printf("%s stored for %s of content", tcli_size(in->blob_bytes, a, sizeof(a)),
	       tcli_size(in->referenced, b, sizeof(b)));
	if (in->blob_bytes)
		printf(" (dedup %.2fx)", (double)in->referenced / (double)in->blob_bytes);
	putchar('\n');

	durable = in->fsync_file.ok + in->fsync_dir.ok + in->fdatasync_file.ok +
		  in->fdatasync_dir.ok + in->sync.ok + in->syncfs.ok;
	printf("\ndurability points: %llu\n", (unsigned long long)durable);
	sync_row("fsync of files", &in->fsync_file);
	sync_row("fdatasync of files", &in->fdatasync_file);
	sync_row("fsync of dirs", &in->fsync_dir);
	sync_row("fdatasync of dirs", &in->fdatasync_dir);
	sync_row("sync", &in->sync);
	sync_row("syncfs", &in->syncfs);
	sync_row("sync_file_range", &in->sync_range);
	if (in->sync_range.ok)
		printf("  %-20s (sync_file_range makes nothing durable)\n", "");

	printf("\nmarks: %llu\n", (unsigned long long)in->by_type[TORN_EV_MARK]);

	printf("faults: %llu\n", (unsigned long long)in->nlisted[0]);
	for (uint64_t i = 0; i < in->nlisted[0] && i < INFO_LIST_MAX; i++) {
		const struct torn_event *ev = &in->listed[0][i];
		/* a hostile trace's result may be no errno (INT64_MIN: no -result) */
		int e = ev->result < 0 && ev->result > -4096 ? (int)-ev->result : 0;
		const char *ename = e ? strerrorname_np(e) : NULL;

		printf("  seq %-10llu ", (unsigned long long)ev->seq);
		tcli_put_text(stdout, ev->text, ev->text_len);
		if (ev->path_len || ev->handle) {
			fputs(" on ", stdout);
			put_subject(in, ev);
		}
		if (ev->flags & TORN_F_SHORT)
			printf(": short write of %lld bytes\n", (long long)ev->result);
		else if (ev->result < 0)
			printf(": %s (%s)\n", ename ? ename : "?", e ? strerror(e) : "not an errno");
		else
			printf(": injected\n");
	}
	if (in->nlisted[0] > INFO_LIST_MAX)
		printf("  ... and %llu more\n", (unsigned long long)(in->nlisted[0] - INFO_LIST_MAX));

	printf("unsupported (seen, not modelled): %llu\n", (unsigned long long)in->nlisted[1]);
	for (uint64_t i = 0; i < in->nlisted[1] && i < INFO_LIST_MAX; i++) {
		const struct torn_event *ev = &in->listed[1][i];
		printf("  seq %-10llu %-12s ", (unsigned long long)ev->seq, trace_type_name(ev->type));
		put_subject(in, ev);
		if (ev->text_len) {
			fputs(ev->path_len || ev->handle ? ": " : "", stdout);
			tcli_put_text(stdout, ev->text, ev->text_len);
		}
		putchar('\n');
	}
	if (in->nlisted[1] > INFO_LIST_MAX)
		printf("  ... and %llu more\n", (unsigned long long)(in->nlisted[1] - INFO_LIST_MAX));
	if (in->nlisted[1])
		printf("  crash states cannot account for these: results may miss bugs\n");

	printf("\nevents by kind\n");
	for (unsigned k = 1; k < 256; k++) {
		if (!in->by_type[k] || k == TORN_REC_BLOB)
			continue;
		printf("  %-20s %llu\n", trace_type_name(k), (unsigned long long)in->by_type[k]);
	}
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct torn_trace *t = NULL;
	struct torn_event ev;
	struct info *in = NULL;
	struct stat st;
	uint64_t pos = 0;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return TORN_EXIT_OK;
		default:
			usage(stderr);
			return TORN_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cli_err("info: expected one trace file");
		usage(stderr);
		return TORN_EXIT_USAGE;
	}
	if ((rc = tcli_open(argv[optind], &t)) != TORN_EXIT_OK)
		return rc;
	/* Events that cannot have happened (a write through a symlink the
	 * trace made, out of its root) make the trace bad input, as for
	 * replay and explore: the model is run once, nothing written. */
	{
		struct trace_error terr;
		int r;

		memset(&terr, 0, sizeof(terr));
		if ((r = trace_rebuild(t, UINT64_MAX, NULL, &terr)) < 0) {
			cli_err("%s", terr.msg[0] ? terr.msg : torn_strerror(r));
			rc = r == -ENOMEM ? TORN_EXIT_INTERNAL : TORN_EXIT_USAGE;
			goto out;
		}
	}
	in = calloc(1, sizeof(*in));
	if (!in) {
		cli_err("info: out of memory");
		rc = TORN_EXIT_INTERNAL;
		goto out;
	}
	tcli_map_init(&in->handles, sizeof(struct tcli_handle));
	tcli_map_init(&in->pids, 0);
	tcli_map_init(&in->paths, 0);
	while (trace_next(t, &pos, &ev)) {
		in->records++;
		if (ev.type == TORN_REC_BLOB) {
			in->blobs++;
			in->blob_bytes += ev.data_len;
			continue;
		}
		if (account(in, &ev) < 0) {
			cli_err("info: out of memory");
			rc = TORN_EXIT_INTERNAL;
			goto out;
		}
	}
	if (stat(argv[optind], &st) < 0)
		st.st_size = 0;
	report(t, in, (uint64_t)st.st_size);
	rc = fflush(stdout) == 0 ? TORN_EXIT_OK : TORN_EXIT_INTERNAL;
out:
	if (in) {
		tcli_map_free(&in->handles);
		tcli_map_free(&in->pids);
		tcli_map_free(&in->paths);
	}
	free(in);
	trace_close(t);
	return rc;
}
