#!/bin/sh
# tests/integration/run/run_test.sh CASE - torn run end to end.
#
#   quick    the bundled quick suite: exit 0, JUnit well formed (xmllint) with
#            one testcase per file and no failure, JSON counts, and the replay
#            and minimize commands of every bug found work when run
#   miss     a suite with each way of missing an expectation: exit 1, counts,
#            each message names a state, and its replay / minimize commands
#            (taken from the JUnit XML) work when run
#   bad      each kind of bad scenario file and bad usage: exit 2, FILE:LINE,
#            nothing run
#   budget   a checker that hangs and a setup that hangs, --budget 1: stopped
#            within the hard limit, reported as budget, exit 1
#   options  -k, --list, --shard slices, -j 1 = -j 2, --json -, --quiet, the
#            work dir (removed when nothing failed; nothing written outside
#            it), faults refused until torn record injects them
#   suite    the whole bundled suite (scenarios/, $SUITE_ARGS): every
#            expectation met
#   readme   every example of scenarios/README.md is a valid scenario
#
# Environment: TORN (the torn binary), SRC (the source tree), WORK (scratch),
# RUN_FILTER (-k options that select part of scenarios/quick: the sanitized
# build, where every checker is slow to start, runs a slice).
set -u
umask 022

case=$1
W=$WORK/$case
rm -rf "$W"
mkdir -p "$W"
cd "$W" || exit 1

fail() {
	echo "FAIL [run $case]: $*" >&2
	exit 1
}

# jq -e on a JSON file, with a message.
jqok() {
	jq -e "$2" "$1" >/dev/null || fail "$1: expected $2 (got $(jq -c "$3" "$1" 2>&1 | head -c 400))"
}

# Run every command string printed by jq expression $2 of JSON file $1 and
# require exit code $3.
run_cmds() {
	jq -r "$2" "$1" > cmds.txt
	[ -s cmds.txt ] || fail "no commands found by $2"
	while IFS= read -r cmd; do
		sh -c "$cmd" >cmd.out 2>&1 </dev/null
		rc=$?
		[ "$rc" -eq "$3" ] || { cat cmd.out >&2; fail "'$cmd' exited $rc, expected $3"; }
	done < cmds.txt
}

case $case in
quick)
	# shellcheck disable=SC2086
	"$TORN" run "$SRC/scenarios/quick" $RUN_FILTER --work "$W/work" --json r.json --junit r.xml >out 2>err
	rc=$?
	cat out
	[ "$rc" -eq 0 ] || { cat err >&2; fail "exit $rc, expected 0"; }
	# shellcheck disable=SC2086
	n=$("$TORN" run "$SRC/scenarios/quick" $RUN_FILTER --list | wc -l)
	[ -n "$RUN_FILTER" ] || [ "$n" -eq "$(find "$SRC/scenarios/quick" -name '*.scn' | wc -l)" ] ||
		fail "--list shows $n scenarios"
	xmllint --noout r.xml || fail "r.xml is not well-formed XML"
	[ "$(xmllint --xpath 'count(//testcase)' r.xml)" = "$n" ] || fail "expected $n testcases"
	[ "$(xmllint --xpath 'count(//failure|//error)' r.xml)" = 0 ] || fail "failures in r.xml"
	[ "$(xmllint --xpath 'string(/testsuites/testsuite/@tests)' r.xml)" = "$n" ] ||
		fail "testsuite tests != $n"
	[ "$(xmllint --xpath 'string(/testsuites/testsuite/@failures)' r.xml)" = 0 ] ||
		fail "testsuite failures != 0"
	jqok r.json ".kind == \"torn run\" and .totals.scenarios == $n and .totals.met == $n and .totals.missed == 0" .totals
	jqok r.json "(.scenarios | length) == $n and ([.scenarios[] | select(.met)] | length) == $n" .scenarios
	# an expected failure was found in every expect = fail scenario, and the
	# summary shows it with its replay command
	jqok r.json '[.scenarios[] | select(.expect == "fail") | select(.failures_total == 0)] == []' .
	jqok r.json '[.scenarios[] | select(.expect == "fail")] | length >= 2' .
	grep -q "found: state" out || fail "no found: line in the summary"
	grep -q "replay:   .*torn replay" out || fail "no replay command in the summary"
	# every failure's output is kept and the counts add up
	jqok r.json '[.scenarios[] | select(.outcomes.fail + .outcomes.crash + .outcomes.hang != .failures_total)] == []' .
	jqok r.json '[.scenarios[] | select(.states_checked != .outcomes.pass + .failures_total)] == []' .
	# the replay commands of the first failure of each scenario rebuild a state
	run_cmds r.json '.scenarios[] | select(.failures_total > 0) | .failures[0].replay' 0
	for d in $(jq -r '.scenarios[] | select(.failures_total > 0) | .name' r.json); do
		[ -n "$(ls -A "$W/work/$d/replay")" ] || [ "$d" = tinylog-buggy ] ||
			fail "replay of $d built an empty directory"
	done
	# minimize (runs the checker itself): exit 1 = a minimal failing state
	run_cmds r.json '.scenarios[] | select(.name == "tinylog-buggy" or .name == "lsm-manifest-no-fsync") | .failures[0].minimize' 1
	echo "quick: $n scenarios met, replay and minimize commands work"
	;;

miss)
	mkdir suite
	# tinylog as in scenarios/quick, but each expectation wrong in its own way
	cat > suite/a-pass-wanted.scn <<-'EOF'
	name = a-pass-wanted
	run = tinylog write . 3
	check = tinylog check .
	strategy = sync,prefix
	expect = pass
	EOF
	cat > suite/b-fail-wanted.scn <<-'EOF'
	name = b-fail-wanted
	run = tinylog write . 3 --dirsync
	check = tinylog check .
	strategy = sync,prefix
	expect = fail
	EOF
	cat > suite/c-wrong-reason.scn <<-'EOF'
	name = c-wrong-reason
	run = tinylog write . 3
	check = tinylog check .
	strategy = sync,prefix
	expect = fail
	expect-reason = checksum mismatch
	EOF
	cat > suite/d-wrong-outcome.scn <<-'EOF'
	name = d-wrong-outcome
	run = tinylog write . 3
	check = tinylog check .
	strategy = sync,prefix
	expect = fail
	expect-outcome = crash
	EOF
	cat > suite/e-met.scn <<-'EOF'
	name = e-met
	run = tinylog write . 3
	check = tinylog check .
	strategy = sync,prefix
	expect = fail
	expect-outcome = fail
	expect-reason = is missing
	EOF
	cat > suite/f-setup-fails.scn <<-'EOF'
	name = f-setup-fails
	setup = echo preparing; exit 3
	run = true
	check = true
	expect = pass
	EOF
	"$TORN" run suite --work "$W/work" --json r.json --junit r.xml >out 2>err
	rc=$?
	cat out
	[ "$rc" -eq 1 ] || { cat err >&2; fail "exit $rc, expected 1"; }
	xmllint --noout r.xml || fail "r.xml is not well-formed XML"
	[ "$(xmllint --xpath 'count(//testcase)' r.xml)" = 6 ] || fail "expected 6 testcases"
	[ "$(xmllint --xpath 'count(//failure)' r.xml)" = 4 ] || fail "expected 4 failures"
	[ "$(xmllint --xpath 'count(//error)' r.xml)" = 1 ] || fail "expected 1 error"
	[ "$(xmllint --xpath 'string(/testsuites/testsuite/@failures)' r.xml)" = 4 ] || fail "failures attr"
	[ "$(xmllint --xpath 'string(/testsuites/testsuite/@errors)' r.xml)" = 1 ] || fail "errors attr"
	[ "$(xmllint --xpath 'count(//testcase[@name="e-met"]/*[self::failure or self::error])' r.xml)" = 0 ] ||
		fail "e-met should have met its expectation"
	jqok r.json '.totals.scenarios == 6 and .totals.met == 1 and .totals.missed == 5' .totals
	jqok r.json '[.scenarios[] | {(.name): .result}] | add == {"a-pass-wanted":"fail","b-fail-wanted":"pass","c-wrong-reason":"fail","d-wrong-outcome":"fail","e-met":"fail","f-setup-fails":"error"}' '[.scenarios[] | {(.name): .result}]'
	grep -q '^MISS  a-pass-wanted' out || fail "no MISS line for a-pass-wanted"
	grep -q '^ok    e-met' out || fail "no ok line for e-met"
	grep -q 'expected fail, but all [0-9]* states passed' out || fail "b: no 'all passed' message"
	grep -q "showing 'checksum mismatch'" out || fail "c: reason not named"
	grep -q "to be 'crash'" out || fail "d: outcome not named"
	grep -q 'setup exited 3' out || fail "f: setup failure not reported"
	grep -q 'preparing' out || fail "f: setup output not shown"
	# each missed expectation with failing states: the message carries the
	# state id and the replay / minimize commands, and they work when run
	for t in a-pass-wanted c-wrong-reason d-wrong-outcome; do
		msg=$(xmllint --xpath "string(//testcase[@name=\"$t\"]/failure)" r.xml)
		id=$(printf '%s\n' "$msg" | sed -n 's/.*state \(p[^ ]*\) (.*/\1/p' | head -n 1)
		[ -n "$id" ] || fail "$t: no state id in the JUnit message: $msg"
		replay=$(printf '%s\n' "$msg" | sed -n 's/^ *replay: *//p')
		minimize=$(printf '%s\n' "$msg" | sed -n 's/^ *minimize: *//p')
		case $replay in *"replay "*"--state $id "*) ;; *) fail "$t: replay command: $replay" ;; esac
		case $minimize in *"minimize "*"--state $id "*) ;; *) fail "$t: minimize command: $minimize" ;; esac
		sh -c "$replay" >/dev/null 2>&1 || fail "$t: '$replay' failed"
		# the replayed state fails the checker again, given the marks
		out_dir=$(printf '%s\n' "$replay" | sed -n 's/.* --out \([^ ]*\) .*/\1/p')
		trace=$(printf '%s\n' "$replay" | sed -n 's/.* replay \([^ ]*\) .*/\1/p')
		"$TORN" replay "$trace" --state "$id" --out "$W/st-$t" --marks "$W/st-$t.marks" >/dev/null ||
			fail "$t: replay with marks"
		[ -d "$out_dir" ] || fail "$t: replay did not create $out_dir"
		(cd "$W/st-$t" && TORN_MARKS="$W/st-$t.marks" "$(dirname "$TORN")/tinylog" check .) >/dev/null &&
			fail "$t: the replayed state $id passes its checker"
		sh -c "$minimize" >min.out 2>&1
		mrc=$?
		[ "$mrc" -eq 1 ] || { cat min.out >&2; fail "$t: '$minimize' exited $mrc, expected 1"; }
	done
	echo "miss: 5 missed expectations reported with working commands"
	;;

bad)
	mkdir good
	printf 'name = ok\nrun = true\ncheck = true\nexpect = pass\n' > good/ok.scn
	# expect_bad FILE_CONTENT LINE WANT: exit 2, "FILE:LINE: ...WANT", nothing run
	n=0
	expect_bad() {
		n=$((n + 1))
		rm -rf b
		mkdir b
		printf '%s\n' "$1" > b/x.scn
		"$TORN" run good b --work "$W/work" >out 2>err
		rc=$?
		[ "$rc" -eq 2 ] || fail "case $n: exit $rc, expected 2 ($(cat err))"
		grep -q "^torn: b/x.scn:$2: .*$3" err || fail "case $n: expected 'b/x.scn:$2: ...$3', got: $(cat err)"
		[ ! -s out ] || fail "case $n: something ran: $(cat out)"
	}
	expect_bad 'name = x
run = true
check = true
expect = pass
colour = blue' 5 "unknown key 'colour'"
	expect_bad 'name = x
run = true
check = true' 3 "missing required key 'expect'"
	expect_bad 'name = x
check = true
expect = pass' 3 "missing required key 'run'"
	expect_bad 'name = x
run = true
check = true
expect = pass
sector = 1000' 5 "sector: expected 512 or 4096, got '1000'"
	expect_bad 'name = x
run = true
check = true
expect = pass
strategy = everything' 5 "strategy: "
	expect_bad 'name = x
run = true
check = true
expect = sometimes' 4 "expect: expected pass or fail"
	expect_bad 'name = x
run = true
check = true
expect = fail
fault = enable name=posix/io/sync/fsync,failnum=x' 5 "failnum: expected a non-zero integer"
	expect_bad 'name = x
engine = wal
mode = buffered
run = true
expect = pass' 4 "cannot be combined with the engine form"
	expect_bad 'name = x
run = true
run = false' 3 "'run' given twice"
	expect_bad '[wrong]
name = x' 2 "unknown section"
	expect_bad 'name = x
engine = wal
mode = buffered
bug = no-such-bug
expect = fail' 4 "bug: engine wal has no seeded bug 'no-such-bug' (expected one of: no-dirsync-segment"
	# two files with one name
	rm -rf b
	mkdir b
	printf 'name = ok\nrun = true\ncheck = true\nexpect = pass\n' > b/x.scn
	"$TORN" run good b >out 2>err
	[ $? -eq 2 ] || fail "duplicate names: expected exit 2"
	grep -q "good/ok.scn:1: name 'ok' is already used by b/x.scn" err || fail "duplicate names: $(cat err)"
	# bad usage
	for args in "" "--shard 0/2 good" "--shard 3/2 good" "--shard x good" "--budget 0 good" \
		    "--budget x good" "-j 0 good" "/nonexistent/suite" "--bogus good" "-k nomatch good"; do
		# shellcheck disable=SC2086
		"$TORN" run $args >out 2>err
		rc=$?
		[ "$rc" -eq 2 ] || fail "torn run $args: exit $rc, expected 2"
		[ -s err ] || fail "torn run $args: no message"
	done
	grep -q "no scenario matches" err || fail "-k nomatch: $(cat err)"
	"$TORN" run /nonexistent/suite 2>err
	grep -q "/nonexistent/suite: No such file or directory (expected a scenario file or a directory)" err ||
		fail "nonexistent path: $(cat err)"
	# merge of a torn run report that is not a shard
	"$TORN" run good --json whole.json >/dev/null 2>&1 || fail "good suite"
	"$TORN" merge whole.json >/dev/null 2>err
	[ $? -eq 2 ] || fail "merge of an unsharded report: expected exit 2"
	grep -q "not a shard" err || fail "merge of an unsharded report: $(cat err)"
	echo "bad: $n bad files, duplicate names and bad usage refused with exit 2"
	;;

budget)
	mkdir suite
	cat > suite/hang-check.scn <<-'EOF'
	name = hang-check
	run = tinylog write . 2 --dirsync
	check = sleep 37.77
	timeout = 60
	expect = pass
	EOF
	cat > suite/hang-setup.scn <<-'EOF'
	name = hang-setup
	setup = sleep 37.77
	run = true
	check = true
	expect = pass
	EOF
	cat > suite/quick.scn <<-'EOF'
	name = quick
	run = tinylog write . 2 --dirsync
	check = tinylog check .
	expect = pass
	EOF
	start=$(date +%s)
	"$TORN" run suite --budget 1 --work "$W/work" --json r.json --junit r.xml >out 2>err
	rc=$?
	took=$(( $(date +%s) - start ))
	cat out
	[ "$rc" -eq 1 ] || { cat err >&2; fail "exit $rc, expected 1"; }
	[ "$took" -le 12 ] || fail "took ${took}s: the budget of 1s is not a hard limit"
	jqok r.json '[.scenarios[] | {(.name): [.result, .met]}] | add == {"hang-check":["budget",false],"hang-setup":["budget",false],"quick":["pass",true]}' '[.scenarios[] | {(.name): .result}]'
	grep -q '^MISS  hang-check .* budget' out || fail "no budget MISS line"
	grep -q 'over the budget of 1 s per scenario' out || fail "the budget is not named in the message"
	[ "$(xmllint --xpath 'count(//failure[@type="budget"])' r.xml)" = 2 ] || fail "JUnit: 2 budget failures expected"
	# no checker, setup or sleep left behind
	sleep 1
	if pgrep -f "sleep 37.77" >/dev/null 2>&1; then
		ps -ef | grep "sleep 37.77" | grep -v grep >&2
		fail "a process of a stopped scenario is still running"
	fi
	# SIGINT: the workers are stopped, exit 130, the scratch is removed
	mkdir sc
	"$TORN" run suite -k hang --work "$W/iw" --scratch "$W/sc" >int.out 2>&1 &
	pid=$!
	sleep 2
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 130 ] || { cat int.out >&2; fail "interrupted run exited $rc, expected 130"; }
	grep -q "interrupted" int.out || fail "no message on interrupt: $(cat int.out)"
	[ -z "$(ls -A sc)" ] || fail "the scratch is left after an interrupt: $(ls -R sc)"
	sleep 1
	if pgrep -f "sleep 37.77" >/dev/null 2>&1; then
		fail "a process of an interrupted scenario is still running"
	fi
	echo "budget: both stopped after ${took}s in all, reported as budget; SIGINT stops cleanly"
	;;

options)
	S=$SRC/scenarios/quick
	all=$("$TORN" run "$S" --list | awk '{print $1}')
	[ "$(printf '%s\n' "$all" | wc -l)" = "$(find "$S" -name '*.scn' | wc -l)" ] || fail "--list count"
	[ "$("$TORN" run "$S" --list -k tinylog | awk '{print $1}' | tr '\n' ' ')" = "tinylog-buggy tinylog-fixed " ] ||
		fail "-k tinylog"
	[ "$("$TORN" run "$S" --list -k '*-fixed' -k 'wal-buf*' | awk '{print $1}' | tr '\n' ' ')" = "tinylog-fixed wal-buffered " ] ||
		fail "-k globs"
	# shards: disjoint slices whose union is the whole list
	u=""
	for i in 1 2 3; do
		u="$u$("$TORN" run "$S" --list --shard $i/3 | awk '{print $1}')
"
	done
	[ "$(printf '%s' "$u" | grep . | sort)" = "$(printf '%s\n' "$all" | sort)" ] || fail "shards do not partition the suite"
	# -j 1 and -j 2: the same results
	"$TORN" run "$S" -k tinylog -k lsm -j 1 --work "$W/w1" --json j1.json >/dev/null 2>&1 || fail "-j 1"
	"$TORN" run "$S" -k tinylog -k lsm -j 2 --work "$W/w2" --json j2.json >/dev/null 2>&1 || fail "-j 2"
	norm='[.scenarios[] | {name, result, met, states_checked, outcomes, failures_total, states: [.failures[].state]}]'
	[ "$(jq -c "$norm" j1.json)" = "$(jq -c "$norm" j2.json)" ] || fail "-j 1 and -j 2 differ"
	# --json -: JSON on stdout, the summary on stderr
	"$TORN" run "$S" -k tinylog-fixed --json - >stdout.json 2>stderr.txt || fail "--json -"
	jq -e '.totals.met == 1' stdout.json >/dev/null || fail "--json -: stdout is not the report"
	grep -q "^ok    tinylog-fixed" stderr.txt || fail "--json -: no summary on stderr"
	# --quiet: met scenarios are not listed, the totals are
	"$TORN" run "$S" -k tinylog -q >q.txt 2>&1 || fail "-q"
	grep -q tinylog-buggy q.txt && fail "-q lists a met scenario"
	grep -q "2 scenarios, 2 met" q.txt || fail "-q: no totals"
	# the work dir: nothing outside it, removed when nothing failed
	mkdir own cwd
	cat > own/w.scn <<-'EOF'
	name = writes
	setup = echo setup > setup-file
	run = echo run > run-file && tinylog write . 2 --dirsync
	check = test -f setup-file && tinylog check .
	expect = pass
	EOF
	(cd cwd && "$TORN" run ../own --work "$W/ow" >../ow.out 2>&1) || { cat ow.out; fail "own scenario"; }
	[ -z "$(ls -A cwd)" ] || fail "torn run wrote into its cwd: $(ls -A cwd)"
	[ "$(ls -A own)" = w.scn ] || fail "torn run wrote next to the scenario: $(ls -A own)"
	[ -z "$(ls -A ow)" ] || fail "the work dir of a passing suite is not empty: $(ls -R ow)"
	# --keep keeps root/ (with the files setup and run made) in the scratch
	mkdir sc
	"$TORN" run own --work "$W/ok" --scratch "$W/sc" --keep >/dev/null 2>&1 || fail "--keep"
	[ -f sc/torn-run-scratch-*/writes/root/setup-file ] && [ -f sc/torn-run-scratch-*/writes/root/run-file ] &&
		[ -f ok/writes/run.trace ] || fail "--keep: $(ls -R ok sc)"
	# without --keep, the scratch is removed
	rm -rf sc/* ow/*
	"$TORN" run own --work "$W/ow" --scratch "$W/sc" >/dev/null 2>&1 || fail "--scratch"
	[ -z "$(ls -A sc)" ] || fail "the scratch dir is left: $(ls -R sc)"
	# faults reach the recording (torn record --fault): tinylog retries the
	# interrupted and the short write, so the scenario passes, and the
	# trace holds both faults
	mkdir flt
	cat > flt/f.scn <<-'EOF'
	name = write-faults
	run = tinylog write . 3 --dirsync
	check = tinylog check .
	fault = write@log#1=EINTR
	fault = write@log#3=short:3
	fault-seed = 5
	expect = pass
	EOF
	"$TORN" run flt --work "$W/fw" --keep >f.out 2>&1 || fail "fault scenario: $(cat f.out)"
	[ "$("$TORN" info "$W/fw/write-faults/run.trace" | grep -c 'posix/io/rw/write on log')" -eq 2 ] ||
		fail "fault scenario: the faults are not in the trace: $("$TORN" info "$W/fw/write-faults/run.trace")"
	echo "options: -k, --list, --shard, -j, --json -, -q, work dir, --keep, faults"
	;;

suite)
	set -f          # SUITE_ARGS holds glob patterns for torn, not for sh
	# shellcheck disable=SC2086
	"$TORN" run "$SRC/scenarios" ${SUITE_ARGS:-} --work "$W/work" --json r.json --junit r.xml >out 2>err
	rc=$?
	cat out
	xmllint --noout r.xml || fail "r.xml is not well-formed XML"
	# shellcheck disable=SC2086
	n=$("$TORN" run "$SRC/scenarios" ${SUITE_ARGS:-} --list | wc -l)
	[ -n "${SUITE_ARGS:-}" ] || [ "$n" -eq "$(find "$SRC/scenarios" -name '*.scn' | wc -l)" ] ||
		fail "--list shows $n scenarios"
	[ "$(xmllint --xpath 'count(//testcase)' r.xml)" = "$n" ] || fail "expected $n testcases"
	jqok r.json ".totals.scenarios == $n" .totals
	[ "$rc" -eq 0 ] || fail "exit $rc: $(jq -r '[.scenarios[] | select(.met | not) | .name] | join(", ")' r.json) missed"
	echo "suite: $n scenarios, every expectation met"
	;;

readme)
	awk -v dir="$W" '/^```ini$/ { n++; f = dir "/ex" n ".scn"; inblock = 1; next }
		/^```$/ { inblock = 0; next } inblock { print > f }' "$SRC/scenarios/README.md"
	n=$(ls "$W"/ex*.scn 2>/dev/null | wc -l)
	[ "$n" -ge 5 ] || fail "expected at least 5 examples in scenarios/README.md, found $n"
	for f in "$W"/ex*.scn; do
		"$TORN" run "$f" --list >out 2>err || fail "$(basename "$f"): $(cat err)"
	done
	echo "readme: $n examples parse"
	;;

*)
	fail "unknown case"
	;;
esac
exit 0
