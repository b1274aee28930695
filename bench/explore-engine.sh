#!/bin/sh
# bench/explore-engine.sh BUILD_DIR [ROUNDS] - the in-process checker against the
# exec checker (issue 4): one 1,000-operation WAL trace (tornkv --engine
# wal --mode buffered --ops 1000 --keys 64 --value-size 100), explored with
# --strategy sync,prefix,torn -j 2 twice, with the checker
# 'tornkv ... check' exec'ed per state, and in-process (--engine wal: a
# child cloned from torn's fork server runs the same check, no exec).
# Prints states/s, CPU per state and cores used of both, and their ratio
# (targets: >= 5,000 states/s on 2 cores and >= 5x the exec path).  The
# rates depend on what else the machine runs; the CPU figures much less,
# so the last line also gives the rate the in-process CPU per state allows
# on two free cores (2 / CPU per state), the figure to judge on a loaded
# machine.  ROUNDS (default 1) runs each checker that many times and keeps
# its run of least CPU, which damps the noise of a shared machine.
# A benchmark, not a test: it never fails on timing.
set -u
B=${1:?usage: explore-engine.sh BUILD_DIR [ROUNDS]}
R=${2:-1}
case $R in ''|*[!0-9]*|0) echo "explore-engine: ROUNDS: expected a positive number, got '$R'" >&2; exit 2;; esac
TORN=$B/bin/torn
HELP=$B/bench/explore-bench
KV=$B/bin/tornkv
for f in "$TORN" "$HELP" "$KV"; do
	[ -x "$f" ] || { echo "explore-engine: build first ($f)" >&2; exit 2; }
done
KV=$(cd "$(dirname "$KV")" && pwd)/tornkv
W=$(mktemp -d /tmp/torn-bench-explore-engine.XXXXXX) || exit 2
trap 'rm -rf "$W"' EXIT INT TERM
mkdir "$W/d"
flags="--engine wal --mode buffered --ops 1000 --keys 64 --value-size 100"
"$TORN" record -q -o "$W/t.trace" --root "$W/d" -- "$KV" $flags --dir "$W/d" workload \
	>/dev/null 2>"$W/err" || { cat "$W/err" >&2; echo "explore-engine: recording failed" >&2; exit 1; }

# run HOW: "WALL_S MAXRSS_KB CPU_S CHECKED", the round of least CPU
run() {
	extra= best=
	[ "$1" = inproc ] && extra="--engine wal"
	i=0
	while [ $i -lt "$R" ]; do
		i=$((i + 1))
		r=$("$HELP" run "$TORN" explore "$W/t.trace" --strategy sync,prefix,torn -j 2 -q $extra \
			--json "$W/$1.json" --check "$KV $flags --dir . check" 2>"$W/err" | sed -n 's/^run //p')
		[ -n "$r" ] || { cat "$W/err" >&2; echo "explore-engine: torn explore failed" >&2; exit 1; }
		r="$r $(sed -n 's/^ *"states_checked": \([0-9]*\),*$/\1/p' "$W/$1.json")"
		[ -z "$best" ] || [ "$(echo "$r $best" | awk '{ print ($3 < $7) }')" = 1 ] && best=$r
	done
	echo "$best"
}
set -- $(run exec)
ew=$1 ec=$3 en=$4
set -- $(run inproc)
iw=$1 ic=$3 inn=$4
[ "$en" = "$inn" ] || { echo "explore-engine: $en states exec'ed, $inn in-process" >&2; exit 1; }
awk -v n="$inn" -v r="$R" -v ew="$ew" -v ec="$ec" -v iw="$iw" -v ic="$ic" \
    -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
	e = n / ew; i = n / iw
	printf "states checked        %d (1,000-operation wal trace, sync,prefix,torn, -j 2; best of %d)\n", n, r
	printf "exec checker          %.0f states/s (%.2f s, %.3f ms CPU per state, %.2f cores)\n", e, ew, 1000 * ec / n, ec / ew
	printf "in-process (--engine) %.0f states/s (%.2f s, %.3f ms CPU per state, %.2f cores)\n", i, iw, 1000 * ic / n, ic / iw
	printf "in-process / exec     %.2fx (target >= 5x; CPU per state %.2fx); %s 5,000 states/s (load average %s)\n", i / e, ec / ic, (i >= 5000 ? "meets" : "misses"), load
	printf "by CPU, 2 free cores  %.0f states/s in-process, %.0f exec (2 / CPU per state)\n", 2 * n / ic, 2 * n / ec
}'
