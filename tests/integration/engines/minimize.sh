#!/bin/sh
# tests/integration/engines/minimize.sh TORN TORNKV STRATEGIES TORNKV-FLAGS...
#
# torn minimize --engine (the in-process checker) against the exec checker:
# record a workload with a seeded bug, take the failing state with the
# most deviations that torn explore --engine finds, minimize it both ways: the same minimal
# state, the same number of checker runs, the same explanation, at most 4
# deviations.
set -u
torn=$1 kv=$2 strategies=$3
shift 3
flags="$*"
engine=$(echo "$flags" | sed -n 's/.*--engine \([a-z]*\).*/\1/p')
work=$(mktemp -d "${TMPDIR:-/tmp}/tornkv-minimize.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/d"

"$torn" record -q -o "$work/t.trace" --root "$work/d" -- "$kv" $flags --dir "$work/d" workload ||
	{ echo "FAIL: torn record failed"; exit 1; }
"$torn" explore "$work/t.trace" --strategy "$strategies" --seed 1 -q --engine "$engine" \
	--json "$work/r.json" --check "$kv $flags --dir . check" >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: torn explore --engine exited $rc, expected 1 (the bug found)"; exit 1; }
# the failing state with the most deviations: the most for ddmin to remove
state=$(sed -n 's/.*"state": *"\([^"]*\)".*/\1/p' "$work/r.json" |
	awk -F: '{ if (NF > best) { best = NF; s = $0 } } END { print s }')
[ -n "$state" ] || { echo "FAIL: no failing state in the report"; exit 1; }
for how in exec inproc; do
	extra=
	[ $how = inproc ] && extra="--engine $engine"
	"$torn" minimize "$work/t.trace" --state "$state" -q $extra \
		--check "$kv $flags --dir . check" >"$work/$how.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] || { echo "FAIL: torn minimize ($how) exited $rc:"; head -5 "$work/$how.out"; exit 1; }
	echo "$how: $(grep '^minimal:' "$work/$how.out")"
done
if ! cmp -s "$work/exec.out" "$work/inproc.out"; then
	echo "FAIL: minimize --engine disagrees with the exec checker:"
	diff "$work/exec.out" "$work/inproc.out" | head -20
	exit 1
fi
ndev=$(sed -n 's/^minimal: .*, \([0-9]*\) deviation.*/\1/p' "$work/inproc.out" | head -1)
if [ -z "$ndev" ] || [ "$ndev" -gt 4 ]; then
	echo "FAIL: $state minimized to ${ndev:-?} deviations (at most 4 expected)"
	exit 1
fi
echo "ok: $state -> $ndev deviation(s), identical output with and without --engine"
