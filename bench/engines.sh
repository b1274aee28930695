#!/bin/sh
# bench/engines.sh BUILD_DIR - puts/s of the bundled engines (each mode,
# --sync every and none, 100-byte values) against SQLite in WAL mode
# (synchronous FULL and OFF).  Runs on a real file system ($TMPDIR or
# /var/tmp, not tmpfs, where fsync costs nothing).
set -u
B=${1:-build}
bin="$B/bench/engines-bench"
[ -x "$bin" ] || { echo "engines: $bin not built (libsqlite3-dev missing?)"; exit 1; }
dir=${TMPDIR:-/var/tmp}
"$bin" "$dir" "${ENGINES_BENCH_EVERY:-1000}" "${ENGINES_BENCH_NONE:-100000}"

# The in-process checker: states/s of `torn explore --engine wal` against the
# exec checker on the same 1,000-operation WAL trace (target: >= 5,000
# states/s on 2 cores and >= 5x the exec path).
torn="$B/bin/torn" kv="$(cd "$B/bin" && pwd)/tornkv"
work=$(mktemp -d "${TMPDIR:-/tmp}/engines-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/d"
flags="--engine wal --mode buffered --ops 1000 --keys 64 --value-size 100"
"$torn" record -q -o "$work/t.trace" --root "$work/d" -- "$kv" $flags --dir "$work/d" workload
echo
echo "torn explore of a 1,000-operation wal trace (sync,prefix,torn), exec vs in-process checker"
exec_r=0
for how in exec inproc; do
	extra=
	[ $how = inproc ] && extra="--engine wal"
	rate=$("$torn" explore "$work/t.trace" --strategy sync,prefix,torn $extra \
		--check "$kv $flags --dir . check" 2>&1 | sed -n 's/.*(\([0-9.]*\) states\/s).*/\1/p')
	echo "  $how: ${rate:-?} states/s"
	[ $how = exec ] && exec_r=$rate
	[ $how = inproc ] && [ -n "$rate" ] && [ -n "$exec_r" ] &&
		awk "BEGIN { printf \"  in-process / exec: %.2fx (target 5x); in-process %s 5,000 states/s\n\", $rate / $exec_r, ($rate >= 5000 ? \"meets\" : \"misses\") }"
done
exit 0
