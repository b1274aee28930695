/*
 * cli/cmd_dump.c - torn dump TRACE [--json] [--blobs]: one line per event.
 *
 * Text: SEQ PID KIND SUBJECT key=value...  where SUBJECT is the path, the
 * handle and the path it opened ("h3->db/wal"), or "from -> to".
 * JSON Lines (--json): one object per event with the same fields, plus the
 * record number and file offset; strings escaped, bytes that are not UTF-8
 * as \u00XX.
 *
 * Sections: field output (text or JSON); one event; the command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tracecli.h"

/* ---- field output */

struct out {
	FILE *f;
	int json;
	int nfields;
};

static void key(struct out *o, const char *k)
{
	if (o->json)
		fprintf(o->f, ",\"%s\":", k);
	else
		fprintf(o->f, " %s=", k);
	o->nfields++;
}

/* A string value: quoted in both forms (text escapes as tcli_put_text). */
static void f_str(struct out *o, const char *k, const char *s, size_t len)
{
	key(o, k);
	if (o->json) {
		tcli_put_json(o->f, s, len);
	} else {
		fputc('"', o->f);
		tcli_put_text(o->f, s, len);
		fputc('"', o->f);
	}
}

/* A word (flag names, kinds): unquoted in text. */
static void f_word(struct out *o, const char *k, const char *s)
{
	key(o, k);
	if (o->json)
		tcli_put_json(o->f, s, strlen(s));
	else
		fputs(s, o->f);
}

static void f_int(struct out *o, const char *k, int64_t v)
{
	key(o, k);
	fprintf(o->f, "%lld", (long long)v);
}

static void f_uint(struct out *o, const char *k, uint64_t v)
{
	key(o, k);
	fprintf(o->f, "%llu", (unsigned long long)v);
}

static void f_mode(struct out *o, const char *k, uint32_t mode)
{
	key(o, k);
	fprintf(o->f, o->json ? "\"%o\"" : "%o", mode);
}

/* A call's result: -errno shown by name. */
static void f_result(struct out *o, int64_t r)
{
	const char *name = r < 0 && r > -4096 ? strerrorname_np((int)-r) : NULL;

	if (o->json) {
		f_int(o, "result", r);
		if (name)
			f_word(o, "errno", name);
	} else if (name) {
		key(o, "result");
		fprintf(o->f, "-%s", name);
	} else {
		f_int(o, "result", r);
	}
}

/* The content of an event: the first chunk's hash (its prefix in text). */
static void f_hash(struct out *o, const struct torn_event *ev)
{
	torn_hash h;

	if (!ev->nchunks)
		return;
	h = trace_chunk(ev, 0);
	key(o, "hash");
	if (o->json) {
		fprintf(o->f, "\"%016llx%016llx\"", (unsigned long long)h.hi, (unsigned long long)h.lo);
		f_uint(o, "nchunks", ev->nchunks);
	} else {
		fprintf(o->f, "%016llx", (unsigned long long)h.hi);
		if (ev->nchunks > 1)
			fprintf(o->f, "+%u", ev->nchunks - 1);
	}
}

static void f_flags(struct out *o, const struct torn_event *ev)
{
	char buf[256];

	if (ev->flags)
		f_word(o, "flags", tcli_rec_flags(ev->flags, buf, sizeof(buf)));
}

static void f_oflags(struct out *o, const struct torn_event *ev)
{
	char buf[256];
	const char *s = tcli_event_oflags(ev, buf, sizeof(buf));

	if (s && s[0])
		f_word(o, "oflags", s);
}

/* ---- one event */

static const char *src_name(uint32_t src)
{
	static const char *const n[] = {
		[TORN_SRC_WRITE] = "write", [TORN_SRC_PWRITE] = "pwrite", [TORN_SRC_WRITEV] = "writev",
		[TORN_SRC_PWRITEV] = "pwritev", [TORN_SRC_PWRITEV2] = "pwritev2",
		[TORN_SRC_STDIO] = "stdio", [TORN_SRC_URING] = "io_uring",
	};
	return src < sizeof(n) / sizeof(n[0]) && n[src] ? n[src] : NULL;
}

/* Does this kind of event name a path ("" being the root itself)? */
static int names_path(unsigned type)
{
	switch (type) {
	case TORN_EV_INIT_DIR: case TORN_EV_INIT_FILE: case TORN_EV_INIT_SYMLINK:
	case TORN_EV_OPEN: case TORN_EV_RENAME: case TORN_EV_UNLINK: case TORN_EV_LINK:
	case TORN_EV_MKDIR: case TORN_EV_RMDIR: case TORN_EV_SYMLINK: case TORN_EV_IMPORT:
		return 1;
	}
	return 0;
}

/* The subject: a path, a handle and what it opened, or two paths. */
static void subject(struct out *o, const struct torn_event *ev, const struct tcli_map *handles)
{
	const struct tcli_handle *h = ev->handle ? tcli_map_find(handles, ev->handle) : NULL;
	int two = ev->type == TORN_EV_RENAME || ev->type == TORN_EV_LINK ||
		  ev->type == TORN_EV_SYMLINK || ev->type == TORN_EV_INIT_SYMLINK;

	if (o->json) {
		if (ev->handle)
			f_uint(o, "handle", ev->handle);
		if (ev->path_len || names_path(ev->type))
			f_str(o, "path", ev->path, ev->path_len);
		else if (h)
			f_str(o, "path", h->path, h->path_len);
		if (ev->path2_len)
			f_str(o, ev->type == TORN_EV_ROOT ? "root" :
				 ev->type == TORN_EV_PROC_EXEC ? "program" :
				 ev->type == TORN_EV_SYMLINK || ev->type == TORN_EV_INIT_SYMLINK ?
				 "target" : "path2", ev->path2, ev->path2_len);
		return;
	}
	fputc(' ', o->f);
	if (ev->handle && ev->type != TORN_EV_OPEN) {
		fprintf(o->f, "h%llu->", (unsigned long long)ev->handle);
		if (h)
			tcli_put_text(o->f, h->path_len ? h->path : ".", h->path_len ? h->path_len : 1);
		else
			fputc('?', o->f);
	} else if (ev->type == TORN_EV_OPEN) {
		fprintf(o->f, "h%llu=", (unsigned long long)ev->handle);
		tcli_put_text(o->f, ev->path_len ? ev->path : ".", ev->path_len ? ev->path_len : 1);
	} else if (ev->path_len) {
		tcli_put_text(o->f, ev->path, ev->path_len);
	} else if (ev->type == TORN_EV_ROOT || ev->type == TORN_EV_PROC_EXEC) {
		tcli_put_text(o->f, ev->path2, ev->path2_len);
	} else if (ev->type >= TORN_EV_INIT_DIR && ev->type <= TORN_EV_INIT_SYMLINK) {
		fputc('.', o->f);                /* the root itself */
	} else {
		fputc('-', o->f);
	}
	if (two) {
		fputs(" -> ", o->f);
		tcli_put_text(o->f, ev->path2, ev->path2_len);
	}
}

static void event_fields(struct out *o, const struct torn_event *ev)
{
	const char *s;

	switch (ev->type) {
	case TORN_REC_BLOB:
		f_uint(o, "len", ev->data_len);
		f_hash(o, ev);
		return;
	case TORN_EV_ROOT:
		f_str(o, "command", ev->text, ev->text_len);
		return;
	case TORN_EV_INIT_DIR:
		f_mode(o, "mode", ev->mode);
		break;
	case TORN_EV_INIT_FILE:
	case TORN_EV_IMPORT:
		f_mode(o, "mode", ev->mode);
		f_int(o, "size", ev->len);
		f_hash(o, ev);
		break;
	case TORN_EV_INIT_SYMLINK:
	case TORN_EV_INIT_DONE:
		break;
	case TORN_EV_PROC_FORK:
		f_int(o, "child", ev->result);
		return;
	case TORN_EV_PROC_EXEC:
		f_str(o, "argv", ev->text, ev->text_len);
		if (ev->result)
			f_result(o, ev->result);
		return;
	case TORN_EV_PROC_EXIT:
	case TORN_EV_END:
		f_int(o, "status", ev->result);
		return;
	case TORN_EV_OPEN:
		f_flags(o, ev);
		f_oflags(o, ev);
		f_mode(o, "mode", ev->mode);
		if (ev->dio_offset_align || ev->dio_mem_align) {
			f_uint(o, "dio_offset_align", ev->dio_offset_align);
			f_uint(o, "dio_mem_align", ev->dio_mem_align);
		}
		if (ev->blksize)
			f_uint(o, "blksize", ev->blksize);
		f_result(o, ev->result);
		break;
	case TORN_EV_WRITE:
		f_int(o, "off", ev->off);
		f_int(o, "len", ev->len);
		f_result(o, ev->result);
		if ((s = src_name(ev->aux)))
			f_word(o, "src", s);
		f_flags(o, ev);
		f_oflags(o, ev);
		f_hash(o, ev);
		break;
	case TORN_EV_FSYNC:
		f_word(o, "call", ev->aux == TORN_SYNC_FDATASYNC ? "fdatasync" : "fsync");
		f_uint(o, "started", ev->aux_seq);
		f_result(o, ev->result);
		break;
	case TORN_EV_SYNC_RANGE:
	case TORN_EV_FALLOCATE:
	case TORN_EV_MMAP:
	case TORN_EV_MSYNC:
		f_int(o, "off", ev->off);
		f_int(o, "len", ev->len);
		f_oflags(o, ev);
		f_result(o, ev->result);
		if (ev->text_len)
			f_str(o, "text", ev->text, ev->text_len);
		break;
	case TORN_EV_TRUNCATE:
		f_int(o, "len", ev->len);
		f_result(o, ev->result);
		break;
	case TORN_EV_RENAME:
		f_oflags(o, ev);
		f_result(o, ev->result);
		break;
	case TORN_EV_MKDIR:
		f_mode(o, "mode", ev->mode);
		f_result(o, ev->result);
		break;
	case TORN_EV_MARK:
		f_str(o, "text", ev->text, ev->text_len);
		return;
	case TORN_EV_FAULT:
		f_str(o, "point", ev->text, ev->text_len);
		f_flags(o, ev);         /* short: result is the bytes kept */
		f_result(o, ev->result);
		return;
	case TORN_EV_URING_SUBMIT:
		f_uint(o, "opcode", ev->aux);
		f_uint(o, "user_data", ev->aux_seq);
		f_int(o, "off", ev->off);
		f_int(o, "len", ev->len);
		f_oflags(o, ev);
		f_hash(o, ev);
		return;
	case TORN_EV_URING_CQE:
		f_uint(o, "user_data", ev->aux_seq);
		f_result(o, ev->result);
		return;
	case TORN_EV_UNSUPPORTED:
		f_str(o, "what", ev->text, ev->text_len);
		return;
	default:
		f_result(o, ev->result);
		break;
	}
	if (ev->ino && o->json)
		f_uint(o, "ino", ev->ino);
}

static void dump_one(struct out *o, const struct torn_event *ev, uint64_t rec, uint64_t at,
		     const struct tcli_map *handles)
{
	const char *kind = trace_type_name(ev->type);

	o->nfields = 0;
	if (o->json) {
		fprintf(o->f, "{\"rec\":%llu,\"offset\":%llu", (unsigned long long)rec,
			(unsigned long long)at);
		if (ev->type != TORN_REC_BLOB)
			fprintf(o->f, ",\"seq\":%llu,\"pid\":%u,\"tid\":%u", (unsigned long long)ev->seq,
				ev->pid, ev->tid);
		fprintf(o->f, ",\"kind\":\"%s\"", kind);
	} else if (ev->type == TORN_REC_BLOB) {
		fprintf(o->f, "%8s %7s %-12s", "-", "-", kind);
	} else {
		fprintf(o->f, "%8llu %7u %-12s", (unsigned long long)ev->seq, ev->pid, kind);
	}
	if (ev->type != TORN_REC_BLOB)
		subject(o, ev, handles);
	event_fields(o, ev);
	fputs(o->json ? "}\n" : "\n", o->f);
}

/* ---- the command */

static void usage(FILE *f)
{
	fputs("usage: torn dump [--json] [--blobs] TRACE\n"
	      "\n"
	      "Print a trace, one line per event: seq, pid, kind, the path (or the handle\n"
	      "and the path it opened), offset, length, result, flags, payload hash\n"
	      "prefix, mark text.\n"
	      "\n"
	      "  --json       JSON Lines: one object per event, with record number and offset\n"
	      "  --blobs      include the content records (blobs)\n"
	      "  -h, --help   show this help\n", f);
}

int cmd_dump(int argc, char **argv)
{
	enum { OPT_JSON = 0x100, OPT_BLOBS };
	static const struct option opts[] = {
		{ "json",  no_argument, NULL, OPT_JSON },
		{ "blobs", no_argument, NULL, OPT_BLOBS },
		{ "help",  no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct out o = { .f = stdout };
	struct torn_trace *t = NULL;
	struct tcli_map handles;
	struct torn_event ev;
	uint64_t pos = 0, at, rec = 0;
	int c, blobs = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:  o.json = 1; break;
		case OPT_BLOBS: blobs = 1; break;
		case 'h':
			usage(stdout);
			return TORN_EXIT_OK;
		default:
			usage(stderr);
			return TORN_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cli_err("dump: expected one trace file");
		usage(stderr);
		return TORN_EXIT_USAGE;
	}
	if ((rc = tcli_open(argv[optind], &t)) != TORN_EXIT_OK)
		return rc;
	tcli_map_init(&handles, sizeof(struct tcli_handle));
	for (; (at = pos < TORN_TRACE_HDR_LEN ? TORN_TRACE_HDR_LEN : pos),
	       trace_next(t, &pos, &ev); rec++) {
		if (ev.type == TORN_EV_OPEN && ev.result >= 0 && ev.handle) {
			struct tcli_handle *h = tcli_map_get(&handles, ev.handle, NULL);

			if (!h) {
				cli_err("dump: out of memory");
				rc = TORN_EXIT_INTERNAL;
				goto out;
			}
			h->path = ev.path;
			h->path_len = ev.path_len;
			h->flags = ev.flags;
			h->oflags = ev.oflags;
		}
		if (ev.type == TORN_REC_BLOB && !blobs)
			continue;
		dump_one(&o, &ev, rec, at, &handles);
	}
	if (trace_truncated(t)) {
		const char *why = trace_tail_bytes(t) ? "a cut-short record after the last whole one"
						      : "no end record";
		/* Text readers see it in the listing; JSON readers on stderr. */
		if (o.json)
			cli_err("%s: truncated: %s", trace_path(t), why);
		else
			printf("# truncated: %s\n", why);
	}
	rc = fflush(stdout) == 0 ? TORN_EXIT_OK : TORN_EXIT_INTERNAL;
	if (rc != TORN_EXIT_OK)
		cli_err("dump: writing the output: %s", strerror(errno));
out:
	tcli_map_free(&handles);
	trace_close(t);
	return rc;
}
