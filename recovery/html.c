/*
 * recovery/html.c - torn report: the HTML page of a run (see html.h).
 *
 * Sections:
 *   1. Escaping (UTF-8 checked, control characters replaced)
 *   2. The timeline model: lanes (one per file, "other files", marks) and
 *      slots (columns; events binned when there are more than HTML_SLOTS)
 *   3. Crash points: states per point (the strategies enumerated again,
 *      without checking) and the report's failures, per slot
 *   4. The page: style, summary, timeline, crash points, failing states
 *      (sector maps, explanation, output, commands), script
 *
 * The layout is plain positioned <div>s and <span>s (percentages of the
 * track), no SVG: the page stays valid HTML 4 for `xmllint --html`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "explore.h"
#include "html.h"
#include "report.h"

/* ==========================================================================
 * 1. Escaping
 * ========================================================================== */

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	c = s[0] & (0x7f >> k);
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF */
	if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return k;
}

void html_escape(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		unsigned char c = p[i];

		switch (c) {
		case '&': fputs("&amp;", f); i++; continue;
		case '<': fputs("&lt;", f); i++; continue;
		case '>': fputs("&gt;", f); i++; continue;
		case '"': fputs("&quot;", f); i++; continue;
		case '\'': fputs("&#39;", f); i++; continue;
		case '\n': case '\t': fputc(c, f); i++; continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fputs("\xef\xbf\xbd", f);
			i++;
			continue;
		}
		k = utf8_len(p + i, len - i);
		if (!k) {
			fputs("\xef\xbf\xbd", f);
			i++;
			continue;
		}
		fwrite(p + i, 1, k, f);
		i += k;
	}
}

static void esc(FILE *f, const char *s)
{
	if (s)
		html_escape(f, s, strlen(s));
}

/* Bytes as "12 KiB". */
static void human(char *buf, size_t n, uint64_t v)
{
	if (v < 1024)
		snprintf(buf, n, "%" PRIu64 " B", v);
	else if (v < 1024 * 1024)
		snprintf(buf, n, "%.1f KiB", (double)v / 1024);
	else
		snprintf(buf, n, "%.1f MiB", (double)v / (1024.0 * 1024));
}

/* ==========================================================================
 * 2. The timeline model
 * ========================================================================== */

enum wkind { WK_BUFFERED = 0, WK_DIRECT, WK_URING, WK_N };
static const char *const wk_name[WK_N] = { "buffered", "direct", "uring" };

struct cell {
	uint64_t bytes[WK_N];
	uint32_t nw[WK_N];
	uint32_t nfsync, nren, nunl, nmark, nfault, nother;
	const char *text;            /* first mark or fault text (into the trace) */
	uint32_t tlen;
};

struct slot {
	uint64_t lo, hi;             /* seqs of its first and last event */
	uint32_t ndirsync, nsync, nfault;
	/* crash points: before the events of this slot */
	uint64_t states, npoints;
	uint64_t nout[EXPLORE_NOUTCOMES];
	uint64_t plo, phi;           /* crash points seen (states or failures) */
	int have_points;
};

#define LANE_OTHER_NAME "other files"

struct lane {
	char *name;
	int   other;                 /* the "other files" lane */
};

struct hmap {
	uint64_t handle;
	int      lane;               /* -1: a directory, -2: not a file we draw */
};

struct tl {
	const struct torn_trace *t;
	uint64_t *seqs;              /* seqs of the events on the axis, ascending */
	size_t    nev, nslots;
	struct slot *slots;
	struct lane *lanes;          /* files, then "other files"; marks are drawn apart */
	size_t    nlanes, lcap, max_lanes;
	int       other;             /* index of the other lane, -1 until needed */
	struct cell *cells;          /* [lane][slot], marks lane last: (max_lanes + 2) rows */
	struct hmap *hm;
	size_t    nhm, hmcap;
	uint64_t  maxbytes;
	uint64_t  nwrites, nfsyncs, ndirsyncs, nrenames, nunlinks, nmarks, nfaults;
};

static int on_axis(unsigned type)
{
	switch (type) {
	case TORN_REC_BLOB: case TORN_EV_ROOT: case TORN_EV_INIT_DIR: case TORN_EV_INIT_FILE:
	case TORN_EV_INIT_SYMLINK: case TORN_EV_INIT_DONE:
		return 0;
	}
	return 1;
}

static size_t slot_of_index(const struct tl *tl, size_t i)
{
	return tl->nev <= tl->nslots ? i : (size_t)((uint64_t)i * tl->nslots / tl->nev);
}

/* The slot of the first event with seq >= @seq (the last slot past the end). */
static size_t slot_of_seq(const struct tl *tl, uint64_t seq)
{
	size_t lo = 0, hi = tl->nev;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tl->seqs[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= tl->nev)
		lo = tl->nev ? tl->nev - 1 : 0;
	return slot_of_index(tl, lo);
}

static struct cell *cell(struct tl *tl, int lane, size_t slot)
{
	return &tl->cells[(size_t)lane * tl->nslots + slot];
}

static int marks_lane(const struct tl *tl)
{
	return (int)tl->max_lanes + 1;
}

static int lane_find(struct tl *tl, const char *path, uint32_t len)
{
	size_t i;

	for (i = 0; i < tl->nlanes; i++)
		if (!tl->lanes[i].other && strlen(tl->lanes[i].name) == len &&
		    !memcmp(tl->lanes[i].name, path, len))
			return (int)i;
	if (tl->nlanes >= tl->max_lanes) {
		if (tl->other < 0) {
			tl->lanes[tl->nlanes].name = strdup(LANE_OTHER_NAME);
			if (!tl->lanes[tl->nlanes].name)
				return -ENOMEM;
			tl->lanes[tl->nlanes].other = 1;
			tl->other = (int)tl->nlanes++;
		}
		return tl->other;
	}
	tl->lanes[tl->nlanes].name = strndup(path, len);
	if (!tl->lanes[tl->nlanes].name)
		return -ENOMEM;
	tl->lanes[tl->nlanes].other = 0;
	return (int)tl->nlanes++;
}

static int hmap_set(struct tl *tl, uint64_t handle, int lane)
{
	size_t i;

	for (i = 0; i < tl->nhm; i++)
		if (tl->hm[i].handle == handle) {
			tl->hm[i].lane = lane;
			return 0;
		}
	if (tl->nhm == tl->hmcap) {
		size_t cap = tl->hmcap ? tl->hmcap * 2 : 64;
		struct hmap *q = realloc(tl->hm, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		tl->hm = q;
		tl->hmcap = cap;
	}
	tl->hm[tl->nhm].handle = handle;
	tl->hm[tl->nhm++].lane = lane;
	return 0;
}

static int hmap_get(const struct tl *tl, uint64_t handle)
{
	size_t i;

	/* most recent first: handles are reused rarely, opened often */
	for (i = tl->nhm; i-- > 0;)
		if (tl->hm[i].handle == handle)
			return tl->hm[i].lane;
	return -2;
}

static void add_write(struct tl *tl, int lane, size_t s, enum wkind k, int64_t bytes)
{
	struct cell *c;

	if (lane < 0)
		return;
	c = cell(tl, lane, s);
	c->nw[k]++;
	c->bytes[k] += bytes > 0 ? (uint64_t)bytes : 0;
	tl->nwrites++;
}

static void tl_free(struct tl *tl)
{
	size_t i;

	for (i = 0; i < tl->nlanes; i++)
		free(tl->lanes[i].name);
	free(tl->lanes);
	free(tl->seqs);
	free(tl->slots);
	free(tl->cells);
	free(tl->hm);
}

static int tl_build(struct tl *tl, const struct torn_trace *t, size_t max_lanes)
{
	struct torn_event ev;
	uint64_t pos = 0;
	size_t n = 0, i = 0, l, s;
	int lane, r;

	memset(tl, 0, sizeof(*tl));
	tl->t = t;
	tl->other = -1;
	tl->max_lanes = max_lanes;
	while (trace_next(t, &pos, &ev) == 1)
		n += on_axis(ev.type);
	tl->nev = n;
	tl->nslots = n < HTML_SLOTS ? (n ? n : 1) : HTML_SLOTS;
	tl->seqs = calloc(n ? n : 1, sizeof(*tl->seqs));
	tl->slots = calloc(tl->nslots, sizeof(*tl->slots));
	tl->lanes = calloc(max_lanes + 1, sizeof(*tl->lanes));
	tl->cells = calloc((max_lanes + 2) * tl->nslots, sizeof(*tl->cells));
	if (!tl->seqs || !tl->slots || !tl->lanes || !tl->cells)
		return -ENOMEM;
	for (s = 0; s < tl->nslots; s++)
		tl->slots[s].lo = UINT64_MAX;
	pos = 0;
	while (trace_next(t, &pos, &ev) == 1) {
		struct cell *c;

		if (!on_axis(ev.type))
			continue;
		s = slot_of_index(tl, i);
		tl->seqs[i++] = ev.seq;
		if (ev.seq < tl->slots[s].lo)
			tl->slots[s].lo = ev.seq;
		tl->slots[s].hi = ev.seq;
		switch (ev.type) {
		case TORN_EV_OPEN:
			if (ev.result < 0)
				break;
			if (ev.flags & TORN_F_DIR) {
				r = hmap_set(tl, ev.handle, -1);
			} else {
				lane = lane_find(tl, ev.path, ev.path_len);
				if (lane < 0)
					return lane;
				r = hmap_set(tl, ev.handle, lane);
			}
			if (r < 0)
				return r;
			break;
		case TORN_EV_WRITE:
			add_write(tl, hmap_get(tl, ev.handle), s,
				  ev.aux == TORN_SRC_URING ? WK_URING :
				  (ev.flags & TORN_F_DIRECT) ? WK_DIRECT : WK_BUFFERED, ev.result);
			break;
		case TORN_EV_URING_SUBMIT:
			if (ev.nchunks)
				add_write(tl, hmap_get(tl, ev.handle), s, WK_URING, ev.len);
			break;
		case TORN_EV_FSYNC:
		case TORN_EV_SYNC_RANGE:
			lane = hmap_get(tl, ev.handle);
			if (lane == -1) {
				tl->slots[s].ndirsync++;
				tl->ndirsyncs++;
			} else if (lane >= 0) {
				cell(tl, lane, s)->nfsync++;
				tl->nfsyncs++;
			}
			break;
		case TORN_EV_SYNC:
		case TORN_EV_SYNCFS:
			tl->slots[s].nsync++;
			tl->ndirsyncs++;
			break;
		case TORN_EV_RENAME:
		case TORN_EV_UNLINK:
			if (ev.result < 0)
				break;
			lane = lane_find(tl, ev.path, ev.path_len);
			if (lane < 0)
				return lane;
			c = cell(tl, lane, s);
			if (ev.type == TORN_EV_RENAME) {
				c->nren++;
				tl->nrenames++;
			} else {
				c->nunl++;
				tl->nunlinks++;
			}
			if (!c->text && ev.type == TORN_EV_RENAME) {
				c->text = ev.path2;
				c->tlen = ev.path2_len;
			}
			break;
		case TORN_EV_MARK:
		case TORN_EV_FAULT:
			c = cell(tl, marks_lane(tl), s);
			if (ev.type == TORN_EV_MARK) {
				c->nmark++;
				tl->nmarks++;
			} else {
				c->nfault++;
				tl->slots[s].nfault++;
				tl->nfaults++;
			}
			if (!c->text || ev.type == TORN_EV_FAULT) {
				c->text = ev.text;
				c->tlen = ev.text_len;
			}
			break;
		default:
			break;
		}
	}
	for (l = 0; l < tl->nlanes; l++)
		for (s = 0; s < tl->nslots; s++) {
			struct cell *c = cell(tl, (int)l, s);
			uint64_t b = c->bytes[0] + c->bytes[1] + c->bytes[2];
			if (b > tl->maxbytes)
				tl->maxbytes = b;
		}
	return 0;
}

/* ==========================================================================
 * 3. Crash points
 * ========================================================================== */

/* Past this many states the per-point counts are not computed: only the
 * points with failures are drawn. */
#define HTML_MAX_COUNT 2000000

static void point_seen(struct tl *tl, uint64_t p, size_t *sp)
{
	size_t s = slot_of_seq(tl, p);
	struct slot *sl = &tl->slots[s];

	if (!sl->have_points || p < sl->plo)
		sl->plo = p;
	if (!sl->have_points || p > sl->phi)
		sl->phi = p;
	sl->have_points = 1;
	*sp = s;
}

struct count_ctx {
	struct tl *tl;
	uint64_t last;
	size_t slot;
	int any;
};

static int count_visit(void *arg, struct crash_state *st)
{
	struct count_ctx *c = arg;
	uint64_t p = crash_state_point(st);

	if (!c->any || p != c->last) {
		point_seen(c->tl, p, &c->slot);
		c->tl->slots[c->slot].npoints++;
		c->last = p;
		c->any = 1;
	}
	c->tl->slots[c->slot].states++;
	return 0;
}

static const char *opt_get(const struct explore_report *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->noptions; i++)
		if (!strcmp(r->options[i].key, key))
			return r->options[i].val;
	return NULL;
}

/* The crash options of the report (what explore enumerated).  0 or -EINVAL. */
static int report_crash_opts(const struct explore_report *r, struct crash_opts *co, char *err,
			     size_t errlen)
{
	const char *v;

	crash_opts_default(co);
	if ((v = opt_get(r, "model")) && crash_opts_parse_model(co, v, err, errlen) < 0)
		return -EINVAL;
	if ((v = opt_get(r, "sector")))
		co->sector = (unsigned)strtoul(v, NULL, 10);
	if (co->sector != 512 && co->sector != 4096)
		co->sector = 512;
	if ((v = opt_get(r, "atomic")))
		co->atomic = (unsigned)strtoul(v, NULL, 10);
	if (co->atomic % 512 || co->atomic > (1u << 24))
		co->atomic = 0;
	if ((v = opt_get(r, "tear")) && crash_opts_parse_tear(co, v, err, errlen) < 0)
		return -EINVAL;
	if ((v = opt_get(r, "strategy")) && crash_opts_parse_strategy(co, v, err, errlen) < 0)
		return -EINVAL;
	if ((v = opt_get(r, "seed")))
		co->seed = strtoull(v, NULL, 10);
	if ((v = opt_get(r, "max_states")))
		co->max_states = strtoull(v, NULL, 10);
	if ((v = opt_get(r, "crash_points")) && crash_opts_parse_points(co, v, err, errlen) < 0)
		return -EINVAL;
	return 0;
}

/* ==========================================================================
 * 4. The page
 * ========================================================================== */

static const char page_style[] =
"*{box-sizing:border-box}\n"
"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
"color:#1f2933;background:#f4f5f7}\n"
".wrap{max-width:1360px;margin:0 auto;padding:20px 28px 60px}\n"
"h1{font-size:22px;margin:0 0 2px}h2{font-size:16px;margin:28px 0 10px;color:#334}\n"
".sub{color:#667;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;"
"word-break:break-all;max-width:1100px}\n"
".cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:14px}\n"
".card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:9px 14px;"
"min-width:120px}\n"
".card .k{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#778}\n"
".card .v{font-size:17px;font-weight:600;margin-top:2px}\n"
".card .v.small{font-size:13px;font-weight:500}\n"
".pill{display:inline-block;border-radius:10px;padding:1px 9px;margin-right:5px;"
"font-size:12.5px;font-weight:600;color:#fff}\n"
".o-pass{background:#3a9a5b}.o-fail{background:#d9534f}.o-crash{background:#8e1b1b}"
".o-hang{background:#7b4fa0}.o-none{background:#aab}\n"
".panel{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px 16px}\n"
"#timeline .row{display:flex;align-items:center;height:24px}\n"
"#timeline .row.cp{height:30px;margin-top:6px;border-top:1px solid #e3e6ea}\n"
"#timeline .lab{width:190px;flex:none;padding-right:10px;text-align:right;font-size:12px;"
"color:#445;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;"
"font-family:ui-monospace,Menlo,Consolas,monospace}\n"
"#timeline .track{position:relative;flex:1;height:100%;"
"border-bottom:1px dotted #e6e8eb}\n"
"#timeline .plot{position:relative}\n"
"#timeline .over{position:absolute;top:0;bottom:0;left:190px;right:0;pointer-events:none}\n"
".track span,.over span{position:absolute}\n"
".w{top:5px;height:14px;border-radius:2px;min-width:2px}\n"
".w-buffered{background:#4e79a7}.w-direct{background:#f28e2b}.w-uring{background:#a05fb5}\n"
".fs{top:1px;height:22px;width:3px;background:#26323d;border-radius:1px}\n"
".dfs{top:0;bottom:0;width:0;border-left:2px dashed #2f8f4e}\n"
".syn{top:0;bottom:0;width:0;border-left:2px solid #2f8f4e}\n"
".flt{top:0;bottom:0;background:rgba(217,83,79,.16);border-left:2px solid #d9534f}\n"
".rn{top:4px;width:0;height:0;border-top:8px solid transparent;border-bottom:8px solid "
"transparent;border-left:10px solid #1b9aaa}\n"
".ul{top:3px;font:bold 15px/16px sans-serif;color:#c0392b}\n"
".mk{top:6px;width:11px;height:11px;background:#e0a800;transform:rotate(45deg)}\n"
".ft{top:3px;width:16px;height:16px;border-radius:8px;background:#d9534f;color:#fff;"
"font:bold 12px/16px sans-serif;text-align:center}\n"
".crash-point{top:7px;width:15px;height:15px;border-radius:8px;cursor:pointer;"
"border:2px solid #fff;box-shadow:0 0 0 1px rgba(0,0,0,.25);transform:translateX(-50%)}\n"
".crash-point.sel{box-shadow:0 0 0 3px #1f2933}\n"
".crash-point.o-pass{width:11px;height:11px;top:9px}\n"
"#timeline.dense .crash-point{width:12px;height:12px;top:9px;border-width:1px}\n"
"#timeline.dense .crash-point.o-pass{width:6px;height:6px;top:12px;border:0;box-shadow:none;"
"opacity:.7}\n"
"#timeline.dense .crash-point.sel{box-shadow:0 0 0 2px #1f2933}\n"
"#timeline.dense .mk{width:7px;height:7px;top:8px}\n"
".axis{display:flex;justify-content:space-between;margin-left:190px;font-size:11px;"
"color:#889;padding-top:3px}\n"
".legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:#556;margin-top:10px}\n"
".legend i{display:inline-block;width:14px;height:11px;margin-right:5px;vertical-align:-1px;"
"border-radius:2px}\n"
"#cp-detail{margin-top:12px;font-size:13px}\n"
"table.fl{border-collapse:collapse;width:100%;font-size:13px;background:#fff}\n"
"table.fl td.id{word-break:break-all;font-size:12px;width:48%}\n"
".flbox{max-height:330px;overflow:auto;border:1px solid #dde1e6;border-radius:8px}\n"
"table.fl th{position:sticky;top:0;background:#fff}\n"
"table.fl td,table.fl th{padding:5px 9px;border-bottom:1px solid #eceef1;text-align:left;"
"vertical-align:top}\n"
"table.fl th{font-size:11px;text-transform:uppercase;color:#778;letter-spacing:.04em}\n"
"table.fl tr.hide{display:none}\n"
"a{color:#1d5fa8;text-decoration:none}a:hover{text-decoration:underline}\n"
"code,pre,.id{font-family:ui-monospace,Menlo,Consolas,monospace}\n"
".state{background:#fff;border:1px solid #dde1e6;border-left:5px solid #d9534f;"
"border-radius:8px;padding:12px 16px;margin:14px 0}\n"
".state.hide{display:none}\n"
".state h3{margin:0 0 6px;font-size:15px;word-break:break-all}"
".state h3 .id{font-size:13px;font-weight:500}\n"
".state .meta{color:#667;font-size:12.5px;margin-bottom:8px}\n"
".state h4{margin:12px 0 5px;font-size:12px;text-transform:uppercase;letter-spacing:.05em;"
"color:#778}\n"
".sector-map{margin:4px 0 10px}\n"
".sector-map .fn{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;"
"margin-bottom:3px}.sector-map .fn span{color:#778}\n"
".cells{display:flex;flex-wrap:wrap;gap:1px;max-width:1000px}\n"
".cells span{width:11px;height:16px;border-radius:2px}\n"
".s-same{background:#dfe3e8}.s-new{background:#4e79a7}.s-old{background:#f0a830}"
".s-zeros{background:#fff;box-shadow:inset 0 0 0 1px #8a94a0}"
".s-garbage{background:repeating-linear-gradient(45deg,#d9534f 0 3px,#f3b9b7 3px 6px)}"
".s-dropped{background:repeating-linear-gradient(90deg,#fff 0 2px,#c8ced6 2px 4px)}\n"
"pre{background:#f6f8fa;border:1px solid #e3e6ea;border-radius:6px;padding:8px 10px;"
"margin:0;font-size:12px;overflow:auto;max-height:260px;white-space:pre-wrap;"
"word-break:break-all}\n"
".cmd{display:flex;gap:6px;align-items:stretch;margin:4px 0}\n"
".cmd pre{flex:1;max-height:none}\n"
"button{font:12px system-ui,sans-serif;border:1px solid #c5cbd3;background:#fff;"
"border-radius:5px;padding:3px 10px;cursor:pointer}button:hover{background:#eef1f4}\n"
".muted{color:#889}\n";

static const char page_script[] =
"(function(){\n"
"var pts=document.querySelectorAll('.crash-point');\n"
"var rows=document.querySelectorAll('table.fl tr[data-point]');\n"
"var cards=document.querySelectorAll('.state');\n"
"var det=document.getElementById('cp-detail');\n"
"function show(lo,hi,label){\n"
" var n=0,ids=[];\n"
" rows.forEach(function(r){var p=+r.getAttribute('data-point');"
"var on=p>=lo&&p<=hi;r.classList.toggle('hide',!on);if(on){n++;"
"ids.push([r.getAttribute('data-id'),r.getAttribute('data-state'),"
"!!document.getElementById('st-'+r.getAttribute('data-id'))]);}});\n"
" cards.forEach(function(c){var p=+c.getAttribute('data-point');"
"c.classList.toggle('hide',!(p>=lo&&p<=hi));});\n"
" det.textContent='';var b=document.createElement('b');b.textContent=label+': ';"
"det.appendChild(b);\n"
" det.appendChild(document.createTextNode(n?n+' failing state'+(n>1?'s':'')+': ':"
"'no failing state. '));\n"
" ids.slice(0,5).forEach(function(x,i){var s=x[1].length>32?x[1].slice(0,32)+'\\u2026':x[1];"
"var a=document.createElement(x[2]?'a':'span');if(x[2])a.href='#st-'+x[0];a.className='id';"
"a.textContent=s;if(i)det.appendChild(document.createTextNode(', '));det.appendChild(a);});\n"
" if(ids.length>5)det.appendChild(document.createTextNode(', \\u2026'));\n"
" var all=document.createElement('button');all.textContent='show all';"
"all.style.marginLeft='10px';all.onclick=function(){pts.forEach(function(q){"
"q.classList.remove('sel')});show(0,Infinity,'All crash points');};det.appendChild(all);\n"
"}\n"
"pts.forEach(function(p){p.addEventListener('click',function(){"
"pts.forEach(function(q){q.classList.remove('sel')});p.classList.add('sel');"
"show(+p.getAttribute('data-lo'),+p.getAttribute('data-hi'),p.getAttribute('title'));});});\n"
"document.querySelectorAll('button.copy').forEach(function(b){b.addEventListener('click',"
"function(){var t=b.parentNode.querySelector('pre').textContent;"
"function done(){b.textContent='copied';setTimeout(function(){b.textContent='copy'},1200);}"
"if(navigator.clipboard)navigator.clipboard.writeText(t).then(done,function(){});"
"else{var r=document.createRange();r.selectNodeContents(b.parentNode.querySelector('pre'));"
"var s=getSelection();s.removeAllRanges();s.addRange(r);document.execCommand('copy');done();}"
"});});\n"
"var first=document.querySelector('.crash-point.o-fail,.crash-point.o-crash,"
".crash-point.o-hang');\n"
"if(first)first.click();\n"
"})();\n";

/* log2(1 + v), roughly (no libm): enough to scale block widths. */
static double lg(uint64_t v)
{
	double r = 0;

	v++;
	while (v >= 2) {
		v >>= 1;
		r += 1;
	}
	return r + 1;
}

static double pct(size_t slot, size_t nslots)
{
	return 100.0 * (double)slot / (double)nslots;
}

#define HTML_PROG_MAX 200u
#define HTML_ID_MAX   72u
#define HTML_EXPLAIN_LINES 40

/* A cut at most @max bytes into @s that does not split a UTF-8 sequence. */
static uint32_t clip(const char *s, uint32_t max)
{
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static void card(FILE *f, const char *k, const char *v, int small)
{
	fprintf(f, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v%s\">", k,
		small ? " small" : "");
	esc(f, v);
	fputs("</div></div>\n", f);
}

static void summary(FILE *f, const struct torn_trace *t, const struct explore_report *r,
		    const struct html_opts *o, const char *program, uint32_t plen)
{
	char buf[96];
	int i;

	fputs("<h1>torn report", f);
	if (o->title) {
		fputs(": ", f);
		esc(f, o->title);
	}
	fputs("</h1>\n<div class=\"sub\" title=\"", f);
	if (program)
		html_escape(f, program, plen);
	fputs("\">", f);
	/* a long command line (an inline script) is cut: the title has it all */
	if (program)
		html_escape(f, program, plen > HTML_PROG_MAX ? clip(program, HTML_PROG_MAX) : plen);
	if (program && plen > HTML_PROG_MAX)
		fputs(" &#8230;", f);
	fputs("</div>\n<div class=\"cards\">\n", f);
	snprintf(buf, sizeof(buf), "%s, sector %s", opt_get(r, "model") ? opt_get(r, "model") :
		 "auto", opt_get(r, "sector") ? opt_get(r, "sector") : "512");
	card(f, "model", buf, 1);
	card(f, "strategies", opt_get(r, "strategy") ? opt_get(r, "strategy") : "sync", 1);
	snprintf(buf, sizeof(buf), "%" PRIu64, r->states_checked);
	card(f, "states checked", buf, 0);
	snprintf(buf, sizeof(buf), "%" PRIu64 " of %" PRIu64, r->unique_states,
		 r->states_enumerated);
	card(f, "unique states", buf, 0);
	fputs("<div class=\"card\"><div class=\"k\">outcomes</div><div class=\"v small\">", f);
	for (i = 0; i < EXPLORE_NOUTCOMES; i++)
		if (r->outcomes[i] || i <= EXPLORE_FAIL)
			fprintf(f, "<span class=\"pill o-%s\">%" PRIu64 " %s</span>",
				r->outcomes[i] ? explore_outcome_name((enum explore_outcome)i) : "none",
				r->outcomes[i],
				explore_outcome_name((enum explore_outcome)i));
	fputs("</div></div>\n", f);
	snprintf(buf, sizeof(buf), "%.2f s", r->elapsed_s);
	card(f, "time", buf, 0);
	snprintf(buf, sizeof(buf), "%" PRIu64 " events%s", trace_nevents(t),
		 trace_truncated(t) ? " (cut short)" : "");
	card(f, "trace", buf, 1);
	fputs("</div>\n<div class=\"sub\" style=\"margin-top:8px\">trace ", f);
	esc(f, o->trace);
	fputs(" &middot; check <code>", f);
	esc(f, o->check);
	fputs("</code></div>\n", f);
}

/* Title text of a write cell. */
static void cell_title(FILE *f, const struct slot *sl, const struct cell *c)
{
	char b[32];
	int k;

	fprintf(f, " title=\"events %" PRIu64 "&#8211;%" PRIu64 ":", sl->lo, sl->hi);
	for (k = 0; k < WK_N; k++)
		if (c->nw[k]) {
			human(b, sizeof(b), c->bytes[k]);
			fprintf(f, " %u %s write%s (%s)", c->nw[k], wk_name[k], c->nw[k] > 1 ? "s" : "",
				b);
		}
	fputs("\"", f);
}

static void lane_row(FILE *f, struct tl *tl, int lane, const char *name)
{
	size_t s;
	double sw = 100.0 / (double)tl->nslots;

	fputs("<div class=\"row\"><div class=\"lab\" title=\"", f);
	esc(f, name);
	fputs("\">", f);
	esc(f, name);
	fputs("</div><div class=\"track\">", f);
	for (s = 0; s < tl->nslots; s++) {
		struct cell *c = cell(tl, lane, s);
		const struct slot *sl = &tl->slots[s];
		uint64_t b = c->bytes[0] + c->bytes[1] + c->bytes[2];
		int k, best = 0;

		if (c->nw[0] + c->nw[1] + c->nw[2]) {
			/* width by size: log scale, a slot at most */
			double fr = 0.3 + 0.7 * (tl->maxbytes > 1 ? lg(b) / lg(tl->maxbytes) : 1.0);
			for (k = 1; k < WK_N; k++)
				if (c->bytes[k] > c->bytes[best])
					best = k;
			fprintf(f, "<span class=\"w w-%s\" style=\"left:%.3f%%;width:%.3f%%\"",
				wk_name[best], pct(s, tl->nslots) + sw * 0.05, sw * 0.9 * fr);
			cell_title(f, sl, c);
			fputs("></span>", f);
		}
		if (c->nfsync)
			fprintf(f, "<span class=\"fs\" style=\"left:%.3f%%\" title=\"fsync (events %"
				PRIu64 "&#8211;%" PRIu64 ")\"></span>", pct(s, tl->nslots) + sw * 0.95,
				sl->lo, sl->hi);
		if (c->nren) {
			fprintf(f, "<span class=\"rn\" style=\"left:%.3f%%\" title=\"rename%s",
				pct(s, tl->nslots) + sw * 0.3, c->nren > 1 ? "s" : "");
			if (c->text) {
				fputs(" to ", f);
				html_escape(f, c->text, c->tlen);
			}
			fprintf(f, " (events %" PRIu64 "&#8211;%" PRIu64 ")\"></span>", sl->lo, sl->hi);
		}
		if (c->nunl)
			fprintf(f, "<span class=\"ul\" style=\"left:%.3f%%\" title=\"unlink (events %"
				PRIu64 "&#8211;%" PRIu64 ")\">&#215;</span>", pct(s, tl->nslots) + sw * 0.3,
				sl->lo, sl->hi);
	}
	fputs("</div></div>\n", f);
}

static void marks_row(FILE *f, struct tl *tl)
{
	size_t s;
	double sw = 100.0 / (double)tl->nslots;

	fputs("<div class=\"row\"><div class=\"lab\">marks &amp; faults</div><div class=\"track\">", f);
	for (s = 0; s < tl->nslots; s++) {
		struct cell *c = cell(tl, marks_lane(tl), s);

		if (!c->nmark && !c->nfault)
			continue;
		fprintf(f, "<span class=\"%s\" style=\"left:%.3f%%\" title=\"", c->nfault ? "ft" : "mk",
			pct(s, tl->nslots) + sw * 0.2);
		if (c->nfault)
			fprintf(f, "injected fault (%u): ", c->nfault);
		else if (c->nmark > 1)
			fprintf(f, "%u marks, the first: ", c->nmark);
		html_escape(f, c->text, c->tlen);
		fprintf(f, " (events %" PRIu64 "&#8211;%" PRIu64 ")\">%s</span>", tl->slots[s].lo,
			tl->slots[s].hi, c->nfault ? "!" : "");
	}
	fputs("</div></div>\n", f);
}

static enum explore_outcome worst(const struct slot *sl)
{
	if (sl->nout[EXPLORE_HANG])
		return EXPLORE_HANG;
	if (sl->nout[EXPLORE_CRASH])
		return EXPLORE_CRASH;
	if (sl->nout[EXPLORE_FAIL])
		return EXPLORE_FAIL;
	return EXPLORE_PASS;
}

static void crash_row(FILE *f, struct tl *tl, int counted)
{
	size_t s;
	double sw = 100.0 / (double)tl->nslots;

	fputs("<div class=\"row cp\"><div class=\"lab\">crash points</div><div class=\"track\">", f);
	for (s = 0; s < tl->nslots; s++) {
		const struct slot *sl = &tl->slots[s];
		uint64_t nf = sl->nout[EXPLORE_FAIL] + sl->nout[EXPLORE_CRASH] + sl->nout[EXPLORE_HANG];

		if (!sl->have_points)
			continue;
		/* a crash point is before its event: at the left edge of the slot */
		fprintf(f, "<span class=\"crash-point o-%s\" style=\"left:%.3f%%\" "
			"data-lo=\"%" PRIu64 "\" data-hi=\"%" PRIu64 "\" data-failing=\"%" PRIu64 "\" "
			"title=\"", explore_outcome_name(worst(sl)), pct(s, tl->nslots) + sw * 0.02,
			sl->plo, sl->phi, nf);
		if (sl->plo == sl->phi)
			fprintf(f, "crash point %" PRIu64, sl->plo);
		else
			fprintf(f, "crash points %" PRIu64 "&#8211;%" PRIu64, sl->plo, sl->phi);
		if (counted)
			fprintf(f, " (%" PRIu64 " state%s", sl->states, sl->states == 1 ? "" : "s");
		else
			fputs(" (", f);
		if (nf)
			fprintf(f, "%s%" PRIu64 " fail, %" PRIu64 " crash, %" PRIu64 " hang",
				counted ? ": " : "", sl->nout[EXPLORE_FAIL], sl->nout[EXPLORE_CRASH],
				sl->nout[EXPLORE_HANG]);
		else if (counted)
			fputs(", all pass", f);
		fputs(")\" tabindex=\"0\"></span>", f);
	}
	fputs("</div></div>\n", f);
}

static void timeline(FILE *f, struct tl *tl, int counted)
{
	size_t l, s;
	double sw = 100.0 / (double)tl->nslots;

	/* past ~80 columns the markers shrink so that neighbours stay apart */
	fprintf(f, "<h2>Timeline</h2>\n<div class=\"panel\"><div id=\"timeline\"%s>"
		"<div class=\"plot\">\n", tl->nslots > 80 ? " class=\"dense\"" : "");
	for (l = 0; l < tl->nlanes; l++)
		lane_row(f, tl, (int)l, tl->lanes[l].name);
	if (!tl->nlanes)
		fputs("<div class=\"row\"><div class=\"lab\">(no file)</div><div class=\"track\">"
		      "</div></div>\n", f);
	marks_row(f, tl);
	fputs("<div class=\"over\">", f);
	for (s = 0; s < tl->nslots; s++) {
		const struct slot *sl = &tl->slots[s];

		if (sl->nsync)
			fprintf(f, "<span class=\"syn\" style=\"left:%.3f%%\" title=\"sync (event %" PRIu64
				")\"></span>", pct(s, tl->nslots) + sw * 0.97, sl->hi);
		else if (sl->ndirsync)
			fprintf(f, "<span class=\"dfs\" style=\"left:%.3f%%\" title=\"directory fsync "
				"(events %" PRIu64 "&#8211;%" PRIu64 ")\"></span>",
				pct(s, tl->nslots) + sw * 0.97, sl->lo, sl->hi);
		if (sl->nfault)
			fprintf(f, "<span class=\"flt\" style=\"left:%.3f%%;width:%.3f%%\"></span>",
				pct(s, tl->nslots), sw);
	}
	fputs("</div></div>\n", f);
	crash_row(f, tl, counted);
	fprintf(f, "<div class=\"axis\"><span>event %" PRIu64 "</span><span>%s</span><span>event %"
		PRIu64 "</span></div>\n", tl->nev ? tl->seqs[0] : 0,
		tl->nev > tl->nslots ? "time (events binned)" : "time (one column per event)",
		tl->nev ? tl->seqs[tl->nev - 1] : 0);
	if (tl->nev > tl->nslots)
		fprintf(f, "<div class=\"axis\" style=\"justify-content:center\">%zu events in %zu "
			"columns</div>\n", tl->nev, tl->nslots);
	fputs("</div>\n<div class=\"legend\">"
	      "<span><i class=\"w-buffered\"></i>buffered write</span>"
	      "<span><i class=\"w-direct\"></i>O_DIRECT write</span>"
	      "<span><i class=\"w-uring\"></i>io_uring write</span>"
	      "<span><i style=\"background:#26323d;width:3px\"></i>fsync</span>"
	      "<span><i style=\"border-left:2px dashed #2f8f4e;width:2px;border-radius:0\"></i>"
	      "directory fsync / sync</span>"
	      "<span><i style=\"background:#1b9aaa\"></i>rename</span>"
	      "<span><b style=\"color:#c0392b\">&#215;</b> unlink</span>"
	      "<span><i style=\"background:#e0a800\"></i>mark</span>"
	      "<span><i style=\"background:#d9534f\"></i>injected fault</span>"
	      "<span><i class=\"o-pass\" style=\"border-radius:6px\"></i>crash point: all pass</span>"
	      "<span><i class=\"o-fail\" style=\"border-radius:6px\"></i>some fail</span>"
	      "<span><i class=\"o-crash\" style=\"border-radius:6px\"></i>checker crash</span>"
	      "<span><i class=\"o-hang\" style=\"border-radius:6px\"></i>hang</span>"
	      "</div>\n", f);
	fprintf(f, "<div class=\"legend\">%" PRIu64 " writes, %" PRIu64 " fsyncs, %" PRIu64
		" directory fsyncs or syncs, %" PRIu64 " renames, %" PRIu64 " unlinks, %" PRIu64
		" marks, %" PRIu64 " faults; %zu file lane%s%s</div>\n", tl->nwrites, tl->nfsyncs,
		tl->ndirsyncs, tl->nrenames, tl->nunlinks, tl->nmarks, tl->nfaults, tl->nlanes,
		tl->nlanes == 1 ? "" : "s", tl->other >= 0 ? " (the rest in \"other files\")" : "");
	fputs("<div id=\"cp-detail\" class=\"muted\">Click a crash point to list its failing "
	      "states.</div></div>\n", f);
}

/* ---- failing states ---- */

static const char *sec_class(char c)
{
	switch (c) {
	case CRASH_SEC_NEW: return "new";
	case CRASH_SEC_OLD: return "old";
	case CRASH_SEC_ZEROS: return "zeros";
	case CRASH_SEC_GARBAGE: return "garbage";
	case CRASH_SEC_DROPPED: return "dropped";
	}
	return "same";
}

static int sec_rank(char c)
{
	switch (c) {
	case CRASH_SEC_GARBAGE: return 5;
	case CRASH_SEC_ZEROS: return 4;
	case CRASH_SEC_OLD: return 3;
	case CRASH_SEC_DROPPED: return 2;
	case CRASH_SEC_NEW: return 1;
	}
	return 0;
}

/* Cells of a map: one per sector up to this many, then binned (a cell shows
 * the most telling kind among its sectors). */
#define HTML_MAP_CELLS 480u

static void sector_map(FILE *f, const struct crash_file_map *m)
{
	uint64_t per = (m->nsec + HTML_MAP_CELLS - 1) / HTML_MAP_CELLS, k, j;
	char a[32], b[32];

	if (!per)
		per = 1;
	human(a, sizeof(a), m->size);
	human(b, sizeof(b), m->ref_size);
	fputs("<div class=\"sector-map\"><div class=\"fn\">", f);
	esc(f, m->path);
	fprintf(f, " <span>&#8212; %s (all persisted: %s), %" PRIu64 " sectors of %u bytes%s</span>"
		"</div><div class=\"cells\">", a, b, m->nsec, m->sector,
		per > 1 ? ", binned" : "");
	for (k = 0; k < m->nsec; k += per) {
		char c = m->map[k];

		for (j = k + 1; j < k + per && j < m->nsec; j++)
			if (sec_rank(m->map[j]) > sec_rank(c))
				c = m->map[j];
		fprintf(f, "<span class=\"s-%s\"", sec_class(c));
		if (c != CRASH_SEC_SAME) {
			uint64_t hi = k + per < m->nsec ? k + per : m->nsec;
			if (per == 1)
				fprintf(f, " title=\"sector %" PRIu64 " (bytes %" PRIu64 "&#8211;%" PRIu64
					"): %s\"", k, k * m->sector, hi * m->sector, sec_class(c));
			else
				fprintf(f, " title=\"sectors %" PRIu64 "&#8211;%" PRIu64 ": %s\"", k,
					hi - 1, sec_class(c));
		}
		fputs("></span>", f);
	}
	fputs("</div></div>\n", f);
}

static void command(FILE *f, const char *label, const char *a, const char *trace,
		    const char *id, const char *b, const char *check, const char *timeout)
{
	char *s = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&s, &n);

	if (!m)
		return;
	fprintf(m, "torn %s ", a);
	report_shell_quote(m, trace);
	fputs(" --state ", m);
	report_shell_quote(m, id);
	fprintf(m, " %s", b);
	if (check)
		report_shell_quote(m, check);
	/* the checker's timeout of the exploration: minimize must not call a
	 * hang a pass */
	if (timeout && strtod(timeout, NULL) > 0) {
		fputs(" --timeout ", m);
		report_shell_quote(m, timeout);
	}
	fclose(m);
	fprintf(f, "<div class=\"muted\" style=\"font-size:12px\">%s</div><div class=\"cmd\"><pre>",
		label);
	html_escape(f, s, n);
	fputs("</pre><button class=\"copy\" type=\"button\">copy</button></div>\n", f);
	free(s);
}

static void state_card(FILE *f, struct crash_space *space, const struct explore_failure *x,
		       const struct html_opts *o, const char *anchor, const char *timeout)
{
	struct crash_state *st = NULL;
	struct crash_file_map *maps = NULL;
	size_t nmaps = 0, i;
	char err[256], *ex = NULL;
	size_t exn = 0;
	const char *oc = explore_outcome_name(x->res.outcome);

	fprintf(f, "<div class=\"state\" id=\"st-%s\" data-point=\"%" PRIu64 "\" "
		"data-outcome=\"%s\"%s>\n<h3><span class=\"pill o-%s\">%s</span> <span class=\"id\">",
		anchor, x->crash_point, oc ? oc : "fail",
		x->res.outcome == EXPLORE_HANG ? " style=\"border-left-color:#7b4fa0\"" :
		x->res.outcome == EXPLORE_CRASH ? " style=\"border-left-color:#8e1b1b\"" : "",
		oc ? oc : "fail", oc ? oc : "fail");
	esc(f, x->state);
	fprintf(f, "</span></h3>\n<div class=\"meta\">crash point %" PRIu64 " &middot; state #%"
		PRIu64, x->crash_point, x->ordinal);
	if (x->res.outcome == EXPLORE_CRASH)
		fprintf(f, " &middot; checker killed by signal %d", x->res.sig);
	else if (x->res.outcome == EXPLORE_FAIL)
		fprintf(f, " &middot; checker exit %d", x->res.exit_code);
	fputs("</div>\n", f);
	err[0] = 0;
	if (!space || crash_state_from_id(space, x->state, &st, err, sizeof(err)) < 0) {
		fputs("<p class=\"muted\">This state could not be rebuilt from the trace: ", f);
		esc(f, err[0] ? err : "no crash space");
		fputs("</p>\n", f);
	} else {
		FILE *m;

		size_t shown = 0, absent = 0;

		if (crash_state_file_maps(st, &maps, &nmaps) < 0)
			nmaps = 0;
		/* a file absent both here and in the reference (a journal
		 * created and unlinked before the crash) has no sector to show */
		for (i = 0; i < nmaps; i++)
			if (maps[i].nsec)
				shown++;
			else
				absent++;
		if (shown) {
			fputs("<h4>Sectors</h4>\n", f);
			for (i = 0; i < nmaps; i++)
				if (maps[i].nsec)
					sector_map(f, &maps[i]);
			if (absent)
				fprintf(f, "<div class=\"muted\" style=\"font-size:12px\">and %zu file%s"
					" touched that %s absent both here and when everything persisted"
					"</div>\n", absent, absent == 1 ? "" : "s", absent == 1 ? "is" : "are");
			fputs("<div class=\"legend\" style=\"margin:0 0 6px\">"
			      "<span><i class=\"s-same\"></i>durable before</span>"
			      "<span><i class=\"s-new\"></i>new (persisted)</span>"
			      "<span><i class=\"s-old\"></i>old (write dropped)</span>"
			      "<span><i class=\"s-zeros\"></i>zeros</span>"
			      "<span><i class=\"s-garbage\"></i>garbage</span>"
			      "<span><i class=\"s-dropped\"></i>dropped (past the end)</span></div>\n", f);
		}
		m = open_memstream(&ex, &exn);
		if (m) {
			crash_state_explain(st, m);
			fclose(m);
			size_t cut = 0, lines = 0, more = 0;

			/* the first lines: a state with hundreds of deviations
			 * would bury the page (explain gives them all) */
			while (cut < exn && lines < HTML_EXPLAIN_LINES)
				if (ex[cut++] == '\n')
					lines++;
			for (i = cut; i < exn; i++)
				more += ex[i] == '\n';
			fputs("<h4>Explanation</h4>\n<pre>", f);
			html_escape(f, ex, cut);
			if (more)
				fprintf(f, "&#8230; %zu more lines: torn explain TRACE --state ID", more);
			fputs("</pre>\n", f);
		}
	}
	if (x->res.reason) {
		fputs("<h4>Found by torn</h4>\n<pre>", f);
		esc(f, x->res.reason);
		fputs("</pre>\n", f);
	}
	fputs("<h4>Checker output</h4>\n<pre>", f);
	for (i = 0; i < x->res.noutput; i++) {
		esc(f, x->res.output[i]);
		fputc('\n', f);
	}
	if (!x->res.noutput)
		fputs("(no output)", f);
	fputs("</pre>\n<h4>Commands</h4>\n", f);
	command(f, "rebuild it", "replay", o->trace, x->state, "--out state-dir", NULL, NULL);
	command(f, "shrink it to the fewest deviations", "minimize", o->trace, x->state, "--check ",
		o->check, timeout);
	fputs("</div>\n", f);
	crash_file_maps_free(maps, nmaps);
	crash_state_free(st);
	free(ex);
}

/* A failing state by its number of deviations (the ':' of its id). */
struct simple {
	size_t ndevs, i;
};

static int simple_cmp(const void *a, const void *b)
{
	const struct simple *x = a, *y = b;

	if (x->ndevs != y->ndevs)
		return x->ndevs < y->ndevs ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void failures(FILE *f, struct crash_space *space, const struct explore_report *r,
		     const struct html_opts *o)
{
	size_t i, max = o->max_states ? o->max_states : 20;
	struct simple *order = NULL;
	unsigned char *shown = NULL;

	fprintf(f, "<h2>Failing states (%zu)</h2>\n", r->nfailures);
	if (!r->nfailures) {
		fputs("<div class=\"panel muted\">Every state checked passed.</div>\n", f);
		return;
	}
	/* The states shown in detail: the simplest first (fewest deviations,
	 * then report order): a state of one dropped sector says more than one
	 * of two hundred.  Without memory, the first ones. */
	order = calloc(r->nfailures, sizeof(*order));
	shown = calloc(r->nfailures, 1);
	if (order && shown) {
		for (i = 0; i < r->nfailures; i++) {
			const char *c;

			order[i].i = i;
			for (c = r->failures[i].state; *c; c++)
				order[i].ndevs += *c == ':';
		}
		qsort(order, r->nfailures, sizeof(*order), simple_cmp);
		for (i = 0; i < r->nfailures && i < max; i++)
			shown[order[i].i] = 1;
	} else {
		free(order);
		free(shown);
		order = NULL;
		shown = NULL;
	}
#define SHOWN(k) (shown ? shown[k] : (k) < max)
	fputs("<div class=\"flbox\"><table class=\"fl\"><tr><th>state</th><th>outcome</th><th>crash point</th>"
	      "<th>checker said</th></tr>\n", f);
	for (i = 0; i < r->nfailures; i++) {
		const struct explore_failure *x = &r->failures[i];
		const char *oc = explore_outcome_name(x->res.outcome);

		fprintf(f, "<tr data-point=\"%" PRIu64 "\" data-id=\"%zu\" data-state=\"",
			x->crash_point, i);
		html_escape(f, x->state, strlen(x->state) > HTML_ID_MAX ?
			    clip(x->state, HTML_ID_MAX) : strlen(x->state));
		fputs("\"><td class=\"id\">", f);
		if (SHOWN(i))
			fprintf(f, "<a href=\"#st-%zu\">", i);
		if (strlen(x->state) > HTML_ID_MAX) {
			html_escape(f, x->state, clip(x->state, HTML_ID_MAX));
			fputs("&#8230;", f);
		} else {
			esc(f, x->state);
		}
		fprintf(f, "%s</td><td><span class=\"pill o-%s\">%s</span></td><td>%" PRIu64
			"</td><td>", SHOWN(i) ? "</a>" : "", oc ? oc : "fail", oc ? oc : "fail",
			x->crash_point);
		if (x->res.reason)
			esc(f, x->res.reason);
		else if (x->res.noutput)
			esc(f, x->res.output[x->res.noutput - 1]);
		fputs("</td></tr>\n", f);
	}
	fputs("</table></div>\n", f);
	if (r->nfailures > max)
		fprintf(f, "<p class=\"muted\">In detail: the %zu simplest failing states (the "
			"fewest deviations first).</p>\n", max);
	for (i = 0; i < r->nfailures && i < max; i++) {
		size_t k = order ? order[i].i : i;
		char anchor[32];

		snprintf(anchor, sizeof(anchor), "%zu", k);
		state_card(f, space, &r->failures[k], o, anchor, opt_get(r, "timeout"));
	}
#undef SHOWN
	free(order);
	free(shown);
}

int html_write(FILE *f, const struct torn_trace *t, const struct explore_report *r,
	       const struct html_opts *o, char *err, size_t errlen)
{
	struct crash_space *space = NULL;
	struct trace_error terr;
	struct crash_opts co;
	struct torn_event ev;
	struct tl tl;
	const char *program = NULL;
	uint32_t plen = 0;
	uint64_t pos = 0;
	int counted = 0, rc;
	size_t i, s;

	rc = tl_build(&tl, t, o->max_lanes ? o->max_lanes : 24);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", trace_path(t), torn_strerror(rc));
		goto out;
	}
	while (trace_next(t, &pos, &ev) == 1)
		if (ev.type == TORN_EV_ROOT) {
			program = ev.text;
			plen = ev.text_len;
			break;
		}
	/* The space the report's states live in: its options, as explored. */
	memset(&terr, 0, sizeof(terr));
	if (report_crash_opts(r, &co, err, errlen) == 0 &&
	    crash_space_new(t, &co, &space, &terr) == 0) {
		int64_t n = crash_space_count(space);

		if (n >= 0 && n <= HTML_MAX_COUNT) {
			struct count_ctx cc = { .tl = &tl };
			counted = crash_space_enumerate(space, count_visit, &cc) == 0;
		}
	}
	err[0] = 0;
	for (i = 0; i < r->nfailures; i++) {
		const struct explore_failure *x = &r->failures[i];

		point_seen(&tl, x->crash_point, &s);
		if (x->res.outcome < EXPLORE_NOUTCOMES)
			tl.slots[s].nout[x->res.outcome]++;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
	fputs("torn report", f);
	if (o->title) {
		fputs(": ", f);
		esc(f, o->title);
	}
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body><div class=\"wrap\">\n", page_style);
	summary(f, t, r, o, program, plen);
	timeline(f, &tl, counted);
	failures(f, space, r, o);
	fprintf(f, "<p class=\"muted\" style=\"margin-top:30px;font-size:12px\">trace hash %s"
		" &middot; made by torn report</p>\n", r->trace_hash ? r->trace_hash : "-");
	fprintf(f, "</div>\n<script>\n%s</script>\n</body></html>\n", page_script);
	rc = ferror(f) ? -EIO : 0;
	if (rc)
		snprintf(err, errlen, "writing the page: %s", strerror(EIO));
out:
	crash_space_free(space);
	tl_free(&tl);
	return rc;
}
