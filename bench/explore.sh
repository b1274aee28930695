#!/bin/sh
# bench/explore.sh BUILD_DIR - throughput of torn explore against the limit
# of an exec checker, in one run:
#   torn:  one exploration (--strategy prefix, -j 2) of a recorded workload of
#          100 writes of 10 KiB with a mark after each (>= 5,000 unique states,
#          each up to 1 MiB), checked by a minimal compiled checker;
#   bare:  a loop that only forks and execs that checker as many times, 2 at
#          once (what no exec-based runner can beat).
# Prints states/s, CPU per state and cores used (CPU / wall) of both, their
# ratio (target >= 0.8), the dedup ratio
# (states enumerated / unique), and torn's peak RSS for this run and for a
# run of the same trace restricted to its last 20 crash points (fewer
# states, as large): memory must not grow with the number of states.
# A benchmark, not a test: it never fails on timing.
set -u

B=${1:?usage: explore.sh BUILD_DIR}
TORN=$B/bin/torn
HELP=$B/bench/explore-bench
CHECKER=$B/bench/explore-checker
for f in "$TORN" "$HELP" "$CHECKER"; do
	[ -x "$f" ] || { echo "explore: build first ($f)" >&2; exit 2; }
done
CHECKER=$(cd "$(dirname "$CHECKER")" && pwd)/explore-checker
W=$(mktemp -d /tmp/torn-bench-explore.XXXXXX) || exit 2
trap 'rm -rf "$W"' EXIT INT TERM

# record NAME NWRITES: a trace of the workload
record() {
	mkdir -p "$W/$1.root"
	"$TORN" record -q -o "$W/$1.trace" --root "$W/$1.root" -- \
		"$HELP" write "$W/$1.root" "$2" 10240 >/dev/null 2>"$W/err" ||
		{ cat "$W/err" >&2; echo "explore: recording failed" >&2; exit 1; }
}

# explore NAME OUT [OPTIONS]: "WALL_S MAXRSS_KB CPU_S CHECKED UNIQUE ENUMERATED"
explore() {
	t=$1 o=$2
	shift 2
	r=$("$HELP" run "$TORN" explore "$W/$t.trace" --strategy prefix -j 2 -q \
		--check "$CHECKER" --json "$W/$o.json" "$@" 2>"$W/err" | sed -n 's/^run //p')
	[ -n "$r" ] || { cat "$W/err" >&2; echo "explore: torn explore failed" >&2; exit 1; }
	k() { sed -n "s/^ *\"$1\": \([0-9]*\),*$/\1/p" "$W/$2.json"; }
	echo "$r $(k states_checked "$o") $(k unique_states "$o") $(k states_enumerated "$o")"
}

record big 100
set -- $(explore big big)
wall=$1 rss=$2 cpu=$3 checked=$4 unique=$5 enum=$6
last=$("$TORN" dump "$W/big.trace" | tail -n 1 | awk '{ print $1 }')
set -- $(explore big small --crash-points $((last - 20))-$last)
rss_small=$2 checked_small=$4
set -- $("$HELP" run "$HELP" bare "$CHECKER" "$checked" 2 "$W/big.root" | sed -n 's/^run //p')
bare=$1 bare_cpu=$3
[ -n "$bare" ] || { echo "explore: bare loop failed" >&2; exit 1; }

# The CPU figures do not depend on what else the machine runs; the rates do.
awk -v c="$checked" -v w="$wall" -v b="$bare" -v u="$unique" -v e="$enum" \
    -v r="$rss" -v cs="$checked_small" -v rs="$rss_small" -v tc="$cpu" -v bc="$bare_cpu" \
    -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
	t = c / w; l = c / b
	printf "states checked        %d (unique %d of %d enumerated: dedup ratio %.2f)\n", c, u, e, e / u
	printf "torn explore -j 2     %.0f states/s (%.2f s, %.3f ms CPU per state, %.2f cores)\n", t, w, 1000 * tc / c, tc / w
	printf "bare fork+exec, 2     %.0f states/s (%.2f s, %.3f ms CPU per state, %.2f cores)\n", l, b, 1000 * bc / c, bc / b
	printf "ratio                 %.2f (target >= 0.80; CPU ratio %.2f; load average %s)\n", t / l, bc / tc, load
	printf "peak RSS of torn      %d KiB at %d states, %d KiB at %d states\n", r, c, rs, cs
}'
