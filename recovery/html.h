/*
 * recovery/html.h - torn report: one self-contained HTML page of a run (a
 * trace and the JSON report of its exploration).
 *
 * The page (no external asset, no network; CSS and a little vanilla JS
 * inlined; every string from the trace or the report is escaped):
 *   1. summary: program, model, strategies, states, outcomes, time;
 *   2. timeline: one lane per file (writes as blocks, width by size, colour
 *      by buffered / direct / uring; fsyncs as barriers in their lane;
 *      directory fsyncs and sync() as barriers across every lane; renames
 *      and unlinks as markers), a lane of marks, injected faults
 *      highlighted; past HTML_SLOTS events the events are binned;
 *   3. crash points along the same axis, coloured by their worst outcome,
 *      with counts; clicking one lists its failing states (JS);
 *   4. failing states: id, outcome, sector map of each affected file,
 *      explanation, checker output, replay and minimize commands.
 *
 * DOM hooks the tests query: #timeline, .crash-point, .state, .sector-map.
 */
#ifndef TORN_RECOVERY_HTML_H
#define TORN_RECOVERY_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "explore.h"

/* Columns of the timeline: beyond this many events, events share one. */
#define HTML_SLOTS 240u

struct html_opts {
	const char *title;          /* page title (scenario name), NULL: the trace's name */
	const char *trace;          /* trace file as the commands should name it */
	const char *check;          /* checker command (minimize) */
	unsigned    max_states;     /* failing states shown in detail (0: 20) */
	unsigned    max_lanes;      /* file lanes before "other files" (0: 24) */
};

/* Write the page of trace @t and its report @r to @f.  0, or -errno /
 * -TORN_E_* with @err. */
int html_write(FILE *f, const struct torn_trace *t, const struct explore_report *r,
	       const struct html_opts *o, char *err, size_t errlen);

/* Write @s (@len bytes) escaped for HTML text and attributes: & < > " '
 * become entities, control characters and invalid UTF-8 become U+FFFD. */
void html_escape(FILE *f, const char *s, size_t len);

#endif /* TORN_RECOVERY_HTML_H */
