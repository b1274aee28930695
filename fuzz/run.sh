#!/bin/sh
# fuzz/run.sh FUZZBUILD TARGET|all [SECONDS]   fuzz for SECONDS (default 60)
# fuzz/run.sh FUZZBUILD regress                replay seeds and regressions
#
# FUZZBUILD is a build of fuzz/CMakeLists.txt (clang, libFuzzer, ASan+UBSan).
# TARGET is trace_decode, trace_open, stateid, scenario or fault_spec.  New
# inputs accumulate in FUZZBUILD/corpus/TARGET (the committed seeds in
# fuzz/corpus/TARGET are only read); a crash leaves its input in
# FUZZBUILD/crashes/ and fails: commit it as fuzz/regress/TARGET/NAME, fix
# the bug, and `regress` replays it from then on.  Prints one line per
# target: executions, seconds, corpus size.
set -u
B=$(cd "$1" && pwd) || exit 2
F=$(cd "$(dirname "$0")" && pwd)
what=$2
secs=${3:-60}
targets="trace_decode trace_open stateid scenario fault_spec"

fuzz_one() {
	t=$1
	mkdir -p "$B/corpus/$t" "$B/crashes"
	log="$B/fuzz_$t.log"
	# -timeout: an input running 10 s is a hang; -rss_limit_mb: one using
	# 2 GiB allocates blindly; both are reported as crashes.
	( cd "$B/crashes" && "$B/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$B/crashes/$t-" "$B/corpus/$t" "$F/corpus/$t" ) \
		>"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	tsecs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
	ncorp=$(find "$B/corpus/$t" -type f | wc -l)
	echo "fuzz $t: ${execs:-?} executions in ${tsecs:-?} s, corpus $ncorp new inputs, exit $rc"
	if [ $rc -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20
		echo "fuzz $t: failed; log $log; commit the input as fuzz/regress/$t/ and fix"
		return 1
	fi
	return 0
}

regress_one() {
	t=$1
	set -- "$F/corpus/$t"/*
	[ -d "$F/regress/$t" ] && set -- "$@" "$F/regress/$t"/*
	n=0
	for f in "$@"; do
		[ -f "$f" ] || continue
		n=$((n + 1))
	done
	# given files, libFuzzer runs each once and stops at the first crash
	if ! "$B/fuzz_$t" -timeout=10 -rss_limit_mb=2048 "$@" >"$B/regress_$t.log" 2>&1; then
		grep -E 'ERROR|SUMMARY|Running:' "$B/regress_$t.log" | tail -5
		echo "regress $t: FAILED (log $B/regress_$t.log)"
		return 1
	fi
	echo "regress $t: $n inputs replayed, no crash"
}

rc=0
case $what in
all) for t in $targets; do fuzz_one "$t" || rc=1; done ;;
regress) for t in $targets; do regress_one "$t" || rc=1; done ;;
trace_decode|trace_open|stateid|scenario|fault_spec) fuzz_one "$what" || rc=1 ;;
*) echo "run.sh: unknown target '$what', expected all, regress or one of: $targets" >&2
   exit 2 ;;
esac
exit $rc
