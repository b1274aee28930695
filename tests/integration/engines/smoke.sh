#!/bin/sh
# tests/integration/engines/smoke.sh TORNKV MARKFILE_SO ENGINE MODE
#
# Without torn: the workload under each --sync policy, then check (exit 0
# expected); a process killed with SIGKILL in the middle of a run, then
# check against the marks it made before dying; a check given a promise the
# engine never made (exit 1 expected); and bad usage (exit 2).
set -u
kv=$1 so=$2 engine=$3 mode=$4
# in a sanitizer build the preloaded stand-in comes before the ASan runtime
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS
work=$(mktemp -d "${TMPDIR:-/tmp}/tornkv-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# Skip (77) only for what the machine lacks: O_DIRECT on this file system.
if [ "$mode" != buffered ] &&
   ! dd if=/dev/zero of="$work/probe" bs=4096 count=1 oflag=direct 2>/dev/null; then
	echo "skip: O_DIRECT is not supported under $work"
	exit 77
fi
fails=0

flags="--engine $engine --mode $mode --ops 120 --keys 12 --value-size 150 --seed 7"

for sync in every batch:5 none; do
	rm -rf "$work/d" "$work/m"
	if ! TORNKV_MARKFILE="$work/m" LD_PRELOAD="$so" "$kv" $flags --sync "$sync" --dir "$work/d" workload; then
		rc=$?
		echo "FAIL: workload --sync $sync exited $rc"; fails=$((fails + 1)); continue
	fi
	n=$(wc -l < "$work/m")
	[ "$n" -eq 120 ] || { echo "FAIL: --sync $sync: $n marks, expected 120"; fails=$((fails + 1)); }
	out=$("$kv" $flags --dir "$work/d" --marks "$work/m" check); rc=$?
	[ $rc -eq 0 ] || { echo "FAIL: check after --sync $sync: exit $rc: $out"; fails=$((fails + 1)); }
	# a second recovery of the same files is as good as the first
	out=$("$kv" $flags --dir "$work/d" --marks "$work/m" check); rc=$?
	[ $rc -eq 0 ] || { echo "FAIL: second check after --sync $sync: exit $rc: $out"; fails=$((fails + 1)); }
done

# killed mid-run: every mark made before the kill is kept
for delay in 0.05 0.1 0.2; do
	rm -rf "$work/k" "$work/km"
	big="--engine $engine --mode $mode --ops 200000 --keys 64 --value-size 120 --seed 3"
	TORNKV_MARKFILE="$work/km" LD_PRELOAD="$so" "$kv" $big --dir "$work/k" workload &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	touch "$work/km"
	out=$("$kv" $big --dir "$work/k" --marks "$work/km" check); rc=$?
	[ $rc -eq 0 ] || { echo "FAIL: check after SIGKILL at ${delay}s ($(wc -l < "$work/km") marks): exit $rc: $out"; fails=$((fails + 1)); }
done

# a promise never kept: marks of a longer run than the files hold
rm -rf "$work/d" "$work/m" "$work/m2"
TORNKV_MARKFILE="$work/m" LD_PRELOAD="$so" "$kv" $flags --dir "$work/d" workload
rm -rf "$work/d"
TORNKV_MARKFILE="$work/m2" LD_PRELOAD="$so" "$kv" $flags --ops 60 --dir "$work/d" workload
out=$("$kv" $flags --dir "$work/d" --marks "$work/m" check); rc=$?
[ $rc -eq 1 ] && [ -n "$out" ] || { echo "FAIL: lost operations not reported (exit $rc: $out)"; fails=$((fails + 1)); }

# bad usage and marks of another workload
"$kv" --engine "$engine" --mode nope --dir "$work/d" check 2>/dev/null; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: bad --mode: exit $rc, expected 2"; fails=$((fails + 1)); }
"$kv" $flags --seed 8 --dir "$work/d" --marks "$work/m2" check 2>/dev/null; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: marks of another seed: exit $rc, expected 2"; fails=$((fails + 1)); }

[ $fails -eq 0 ] && echo "smoke $engine/$mode: ok"
[ $fails -eq 0 ]
