#!/bin/sh
# tests/integration/engines/inproc.sh TORN TORNKV STRATEGIES TORNKV-FLAGS...
#
# The in-process checker (torn explore --engine) against the exec checker
# on the same trace: the JSON reports must agree state by state (outcome,
# exit status, output), timings aside, with 512-byte sectors and the
# default tears, and with 4096-byte sectors and every tear pattern (other
# states, other failures: checksums over zeros and garbage).  Prints the
# run times.
set -u
torn=$1 kv=$2 strategies=$3
shift 3
flags="$*"
engine=$(echo "$flags" | sed -n 's/.*--engine \([a-z]*\).*/\1/p')
work=$(mktemp -d "${TMPDIR:-/tmp}/tornkv-inproc.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/d"

"$torn" record -q -o "$work/t.trace" --root "$work/d" -- "$kv" $flags --dir "$work/d" workload ||
	{ echo "FAIL: torn record failed"; exit 1; }
m=0
for model in "--sector 512" "--sector 4096 --tear old,new,zeros,garbage"; do
	m=$((m + 1))
	for how in exec inproc; do
		extra=
		[ $how = inproc ] && extra="--engine $engine"
		start=$(date +%s.%N)
		"$torn" explore "$work/t.trace" --strategy "$strategies" --seed 1 $model -q $extra \
			--json "$work/$how.json" --check "$kv $flags --dir . check" >/dev/null 2>&1
		rc=$?
		end=$(date +%s.%N)
		[ $rc -le 1 ] || { echo "FAIL: torn explore ($how, $model) exited $rc"; exit 1; }
		echo "$model, $how: exit $rc, $(awk "BEGIN { printf \"%.2f\", $end - $start }") s"
		grep -v -e '"secs"' -e '"elapsed_s"' "$work/$how.json" > "$work/$how.norm"
	done
	if ! cmp -s "$work/exec.norm" "$work/inproc.norm"; then
		echo "FAIL: the in-process checker disagrees with the exec checker ($model):"
		diff "$work/exec.norm" "$work/inproc.norm" | head -20
		exit 1
	fi
	n=$(sed -n 's/^ *"states_checked": \([0-9]*\),*$/\1/p' "$work/exec.norm")
	echo "ok ($model): $n states, $(grep -c '"state"' "$work/exec.norm") failing, identical reports"
	[ "$m" = 1 ] && [ "$(grep -c '"state"' "$work/exec.norm")" -eq 0 ] &&
		{ echo "FAIL: no failing state with $model: the comparison needs some"; exit 1; }
done
exit 0
