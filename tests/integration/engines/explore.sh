#!/bin/sh
# tests/integration/engines/explore.sh TORN TORNKV EXPECT STRATEGIES TORNKV-FLAGS...
#
# Record `tornkv FLAGS workload` under torn, then explore its crash states
# with `tornkv FLAGS check` as the checker, run in-process (torn explore
# --engine: the same check without an exec per state; engines/inproc/*
# compares the two), four times: 512- and 4096-byte sectors, with the
# default tears and again with every tear pattern (old,new,zeros,garbage:
# the checksums must catch what a device scrambles).
# EXPECT pass: no failing state in any run (the correct engine).
# EXPECT fail: at least one failing state (a seeded bug is found; the runs
# stop at the first that finds one), and `torn minimize --engine` shrinks
# the first failing state to at most 4 deviations.
set -u
torn=$1 kv=$2 expect=$3 strategies=$4
shift 4
flags="$*"
engine=$(echo "$flags" | sed -n 's/.*--engine \([a-z]*\).*/\1/p')
work=$(mktemp -d "${TMPDIR:-/tmp}/tornkv-explore.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/d"

if ! "$torn" record -q -o "$work/t.trace" --root "$work/d" -- "$kv" $flags --dir "$work/d" workload; then
	echo "FAIL: torn record of 'tornkv $flags workload' failed"
	exit 1
fi
case "$flags" in
*"--mode uring"*)
	# the uring back end must be visible to torn, or nothing is explored
	if ! "$torn" dump "$work/t.trace" | grep -q 'uring-submit'; then
		echo "FAIL: the trace of the uring workload has no io_uring submission:"
		echo "      torn's shim does not record io_uring (liburing is linked dynamically)"
		exit 1
	fi
	# engines with an asynchronous commit (eng_ops.sync_start) pipeline at
	# --sync every: the trace must hold an io_uring fsync submitted while
	# another one is still in flight (commits overlapping), or the crash
	# states of the pipelined path are not explored (btree's meta-before-
	# pages bug has one fsync a commit, after the meta, which waits for the
	# commit before: nothing to overlap)
	case "$engine:$flags" in
	btree:*"--bug meta-before-pages"*) ;;
	wal:*"--sync "*|lsm:*"--sync "*|bitcask:*"--sync "*|btree:*"--sync "*|*"--inflight 1 "*|*"--inflight 1") ;;
	wal:*|lsm:*|bitcask:*|btree:*)
		if ! "$torn" dump "$work/t.trace" | awk '
			/uring-submit/ && /opcode=3 / { for (f = 1; f <= NF; f++) if ($f ~ /^user_data=/) u = $f
				if (n > 0) overlap = 1; open[u] = 1; n++ }
			/uring-cqe/ { for (f = 1; f <= NF; f++) if ($f ~ /^user_data=/) u = $f
				if (u in open) { delete open[u]; n-- } }
			END { exit !overlap }'; then
			echo "FAIL: the uring trace of $engine has no two fsyncs in flight at once:"
			echo "      its commits were not pipelined (tornkv --inflight)"
			exit 1
		fi;;
	esac;;
esac

found=0
# TORNKV_SWEEP=short (the sanitized build, where every check is slower):
# two of the four runs, 512 with the default tears and 4096 with all.
if [ "${TORNKV_SWEEP:-full}" = short ]; then
	set -- "--sector 512" "--sector 4096 --tear old,new,zeros,garbage"
else
	set -- "--sector 512" "--sector 4096" "--sector 512 --tear old,new,zeros,garbage" \
		"--sector 4096 --tear old,new,zeros,garbage"
fi
for model in "$@"; do
	out=$("$torn" explore "$work/t.trace" --strategy "$strategies" --seed 1 $model -q \
		--engine "$engine" --timeout 20 --json "$work/report.json" \
		--check "$kv $flags --dir . check" 2>&1)
	rc=$?
	case $rc in
	0) ;;
	1) found=1
	   if [ "$expect" = pass ]; then
		echo "FAIL: crash states fail with $model:"
		echo "$out" | head -20
		exit 1
	   fi;;
	*) echo "FAIL: torn explore exited $rc with $model:"; echo "$out" | head -20; exit 1;;
	esac
	echo "$model: $(echo "$out" | grep -E 'states checked|fail' | head -2 | tr '\n' ' ')"
	if [ "$expect" = fail ] && [ $found = 1 ]; then
		state=$(sed -n 's/.*"state": *"\([^"]*\)".*/\1/p' "$work/report.json" | head -1)
		[ -n "$state" ] || state=$(grep -o '"state":"[^"]*"' "$work/report.json" | head -1 | cut -d'"' -f4)
		min=$("$torn" minimize "$work/t.trace" --state "$state" -q $model \
			--engine "$engine" --check "$kv $flags --dir . check" 2>&1)
		ndev=$(echo "$min" | sed -n 's/^minimal: .*, \([0-9]*\) deviation.*/\1/p' | head -1)
		echo "minimize $state: $(echo "$min" | grep '^minimal:')"
		if [ -z "$ndev" ] || [ "$ndev" -gt 4 ]; then
			echo "FAIL: torn minimize did not shrink $state to at most 4 deviations:"
			echo "$min" | head -10
			exit 1
		fi
		break
	fi
done
if [ "$expect" = fail ] && [ $found = 0 ]; then
	echo "FAIL: the seeded bug was not found (tornkv $flags)"
	exit 1
fi
echo "ok: tornkv $flags: expected $expect"
exit 0
