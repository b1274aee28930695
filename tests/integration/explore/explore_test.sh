#!/bin/sh
# tests/integration/explore/explore_test.sh CASE - torn explore, replay,
# explain, minimize and merge on a small recorded trace: examples/tinylog
# writing 4 acknowledged records, without (buggy: the log's directory entry
# is never made durable) and with --dirsync (fixed).
#
# Environment (set by tests/integration/explore.cmake):
#   TORN     the torn binary      TINYLOG  examples/tinylog
#   WORK     a scratch directory for this test run
#
# Cases: finds passes usage jobs shards replay explain minimize hang keep interrupt
# Exit 0 pass, 1 fail (with the reason on stderr).
set -u
umask 022

case_name=$1
W=$WORK/$case_name
rm -rf "$W"
mkdir -p "$W"
cd "$W" || exit 1

fail() {
	echo "FAIL [$case_name]: $*" >&2
	exit 1
}

# expect_rc WANT CMD...: run CMD (stdout to $W/out, stderr to $W/err).
expect_rc() {
	want=$1
	shift
	"$@" >"$W/out" 2>"$W/err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		cat "$W/out" "$W/err" >&2
		fail "'$*' exited $rc, expected $want"
	fi
}

# record NAME [--dirsync]: $W/NAME.trace of tinylog writing 4 records.
record() {
	name=$1
	shift
	mkdir -p "$W/$name.root"
	expect_rc 0 "$TORN" record -q -o "$W/$name.trace" --root "$W/$name.root" -- \
		"$TINYLOG" write "$W/$name.root" 4 "$@"
}

# The failing ids of a JSON report, one per line, in report order.
ids() {
	sed -n 's/^ *"state": "\(.*\)",$/\1/p' "$1"
}

# "state outcome" pairs of a JSON report.
id_outcomes() {
	sed -n -e 's/^ *"state": "\(.*\)",$/\1/p' -e 's/^ *"outcome": "\(.*\)",$/\1/p' "$1" |
		paste -d' ' - -
}

CHECK="$TINYLOG check ."
STRAT="--strategy sync,prefix,reorder:1"

case $case_name in
finds)
	record buggy
	expect_rc 1 "$TORN" explore "$W/buggy.trace" $STRAT -j 2 --check "$CHECK" \
		--json "$W/r.json" --junit "$W/r.xml"
	grep -q "acknowledged record . is missing" "$W/out" || fail "no checker output in the summary"
	grep -q "torn replay .*buggy.trace --state p" "$W/out" || fail "no replay command"
	grep -q "torn minimize .*--check " "$W/out" || fail "no minimize command"
	grep -q '"states_checked": [1-9]' "$W/r.json" || fail "states_checked missing"
	grep -q '"fail": [1-9]' "$W/r.json" || fail "no fail outcome in the JSON"
	[ -n "$(ids "$W/r.json")" ] || fail "no failure ids in the JSON"
	xmllint --noout "$W/r.xml" || fail "JUnit report not well formed"
	grep -q '<failure type="fail"' "$W/r.xml" || fail "no failure in the JUnit report"
	;;
passes)
	record fixed --dirsync
	expect_rc 0 "$TORN" explore "$W/fixed.trace" $STRAT -j 2 --check "$CHECK" \
		--json "$W/r.json"
	grep -q "no failure" "$W/out" || fail "no 'no failure' line"
	grep -q '"failures": \[\]' "$W/r.json" || fail "failures not empty"
	;;
usage)
	record buggy
	expect_rc 2 "$TORN" explore "$W/buggy.trace"
	grep -q -- "--check" "$W/err" || fail "missing --check not explained"
	expect_rc 2 "$TORN" explore "$W/nonexistent.trace" --check true
	grep -q "nonexistent.trace" "$W/err" || fail "missing trace not named"
	printf 'this is not a trace, not at all, not even close to one\n' >"$W/bad.trace"
	expect_rc 2 "$TORN" explore "$W/bad.trace" --check true
	grep -q "bad.trace" "$W/err" || fail "bad trace not named"
	expect_rc 2 "$TORN" explore "$W/buggy.trace" --check "torn-no-such-checker-xyz"
	grep -q "torn-no-such-checker-xyz" "$W/err" || fail "missing checker not named"
	expect_rc 2 "$TORN" explore "$W/buggy.trace" --check "no-such-cmd-xyz --flag; exit \$?"
	grep -q "exit 127" "$W/err" || fail "exit 127 not reported"
	expect_rc 2 "$TORN" explore "$W/buggy.trace" --check true --shard 3/2
	expect_rc 2 "$TORN" explore "$W/buggy.trace" --check true --strategy nonsense
	expect_rc 2 "$TORN" explore "$W/buggy.trace" --check true -j 0
	expect_rc 0 "$TORN" explore --help
	for f in --check --model --sector --atomic --tear --strategy --seed --max-states \
		 --crash-points --jobs --timeout --scratch --keep-failing --json --junit \
		 --shard --quiet --max-failures-shown; do
		grep -q -- "$f" "$W/out" || fail "usage does not list $f"
	done
	# The checker's own exit 0 everywhere: all pass.
	expect_rc 0 "$TORN" explore "$W/buggy.trace" --check true -q
	;;
jobs)
	record buggy
	expect_rc 1 "$TORN" explore "$W/buggy.trace" $STRAT -j 1 --check "$CHECK" --json "$W/j1.json"
	expect_rc 1 "$TORN" explore "$W/buggy.trace" $STRAT -j 2 --check "$CHECK" --json "$W/j2.json"
	id_outcomes "$W/j1.json" >"$W/j1.ids"
	id_outcomes "$W/j2.json" >"$W/j2.ids"
	[ -s "$W/j1.ids" ] || fail "no failures"
	cmp -s "$W/j1.ids" "$W/j2.ids" || fail "-j1 and -j2 disagree"
	for k in states_enumerated unique_states states_checked; do
		[ "$(grep "\"$k\"" "$W/j1.json")" = "$(grep "\"$k\"" "$W/j2.json")" ] ||
			fail "$k differs between -j1 and -j2"
	done
	;;
shards)
	record buggy
	expect_rc 1 "$TORN" explore "$W/buggy.trace" $STRAT --check "$CHECK" --json "$W/all.json"
	for i in 1 2 3; do
		"$TORN" explore "$W/buggy.trace" $STRAT --check "$CHECK" --shard $i/3 \
			--json "$W/s$i.json" >/dev/null 2>"$W/err"
		rc=$?
		[ "$rc" -le 1 ] || { cat "$W/err" >&2; fail "shard $i/3 exited $rc"; }
	done
	expect_rc 1 "$TORN" merge "$W/s3.json" "$W/s1.json" "$W/s2.json" -o "$W/merged.json"
	id_outcomes "$W/all.json" >"$W/all.ids"
	id_outcomes "$W/merged.json" >"$W/merged.ids"
	cmp -s "$W/all.ids" "$W/merged.ids" || fail "merged shards differ from the unsharded run"
	for k in states_enumerated unique_states states_checked '"pass"' '"fail"'; do
		[ "$(grep "$k" "$W/all.json")" = "$(grep "$k" "$W/merged.json")" ] ||
			fail "$k differs between merged and unsharded"
	done
	expect_rc 2 "$TORN" merge "$W/s1.json" "$W/s2.json"
	grep -q "shard 3/3 is missing" "$W/err" || fail "missing shard not reported"
	expect_rc 2 "$TORN" merge "$W/s1.json" "$W/s2.json" "$W/s2.json"
	grep -q "given twice" "$W/err" || fail "duplicate shard not reported"
	expect_rc 2 "$TORN" merge "$W/all.json"
	printf '{"version": 1, oops' >"$W/broken.json"
	expect_rc 2 "$TORN" merge "$W/s1.json" "$W/broken.json"
	grep -q "broken.json" "$W/err" || fail "broken report not named"
	;;
replay)
	record buggy
	expect_rc 1 "$TORN" explore "$W/buggy.trace" $STRAT --check "$CHECK" --json "$W/r.json"
	id=$(ids "$W/r.json" | head -n 1)
	expect_rc 0 "$TORN" replay "$W/buggy.trace" --state "$id" --out "$W/st" --marks "$W/st.marks"
	(cd "$W/st" && TORN_MARKS="$W/st.marks" "$TINYLOG" check .) >/dev/null &&
		fail "the replayed state $id passes the checker"
	touch "$W/st/extra"
	expect_rc 2 "$TORN" replay "$W/buggy.trace" --state "$id" --out "$W/st"
	grep -q "not empty" "$W/err" || fail "non-empty DIR not refused"
	expect_rc 0 "$TORN" replay "$W/buggy.trace" --state "$id" --out "$W/st" --force
	expect_rc 2 "$TORN" replay "$W/buggy.trace" --state "p99999999:dfoo" --out "$W/st2"
	# Without --state: everything persisted, so every record is there.
	expect_rc 0 "$TORN" replay "$W/buggy.trace" --out "$W/full"
	printf 'ack 1\nack 2\nack 3\nack 4\n' >"$W/all.marks"
	(cd "$W/full" && TORN_MARKS="$W/all.marks" "$TINYLOG" check .) ||
		fail "the fully persisted replay fails the checker"
	;;
explain)
	record buggy
	expect_rc 1 "$TORN" explore "$W/buggy.trace" $STRAT --check "$CHECK" --json "$W/r.json"
	id=$(ids "$W/r.json" | head -n 1)
	expect_rc 0 "$TORN" explain "$W/buggy.trace" --state "$id"
	[ -s "$W/out" ] || fail "explain printed nothing"
	grep -q "log" "$W/out" || fail "explain does not name the log file"
	expect_rc 2 "$TORN" explain "$W/buggy.trace" --state "not-an-id"
	expect_rc 2 "$TORN" explain "$W/buggy.trace"
	;;
minimize)
	record buggy
	expect_rc 1 "$TORN" explore "$W/buggy.trace" $STRAT --check "$CHECK" --json "$W/r.json"
	# The failing state with the most deviations: the one with most ':'.
	id=$(ids "$W/r.json" | awk -F: '{ print NF, $0 }' | sort -n -s -k1,1 | tail -n 1 | cut -d' ' -f2-)
	expect_rc 1 "$TORN" minimize "$W/buggy.trace" --state "$id" --check "$CHECK" -q
	min=$(sed -n 's/^minimal:  \([^ ]*\) .*/\1/p' "$W/out")
	[ -n "$min" ] || fail "no minimal id printed"
	grep -q "torn replay .* --state $min --out DIR" "$W/out" || fail "no replay command"
	n0=$(echo "$id" | awk -F: '{ print NF }')
	n1=$(echo "$min" | awk -F: '{ print NF }')
	[ "$n1" -le "$n0" ] || fail "minimal $min has more deviations than $id"
	expect_rc 0 "$TORN" replay "$W/buggy.trace" --state "$min" --out "$W/min" --marks "$W/min.marks"
	(cd "$W/min" && TORN_MARKS="$W/min.marks" "$TINYLOG" check .) >/dev/null &&
		fail "the minimal state $min passes the checker"
	# A passing state cannot be minimized.
	record fixed --dirsync
	expect_rc 2 "$TORN" minimize "$W/fixed.trace" --state p3 --check "$CHECK" -q
	;;
hang)
	record buggy
	expect_rc 1 "$TORN" explore "$W/buggy.trace" --strategy sync --check "sleep 10" \
		--timeout 0.3 -j 2 --json "$W/r.json" --max-failures-shown 1
	grep -q '"hang": [1-9]' "$W/r.json" || fail "no hang outcome"
	grep -q "^hang: " "$W/out" || fail "no hang section in the summary"
	# A crash (signal) is its own class.
	expect_rc 1 "$TORN" explore "$W/buggy.trace" --strategy sync --check 'kill -SEGV $$' \
		--json "$W/c.json"
	grep -q '"crash": [1-9]' "$W/c.json" || fail "no crash outcome"
	grep -q '"signal": 11' "$W/c.json" || fail "no signal in the JSON"
	;;
keep)
	record buggy
	mkdir -p "$W/scratch"
	expect_rc 1 "$TORN" explore "$W/buggy.trace" $STRAT --check "$CHECK" --keep-failing \
		--scratch "$W/scratch" --json "$W/r.json"
	kept=$(sed -n 's/^ *"kept": "\(.*\)",*$/\1/p' "$W/r.json" | head -n 1)
	[ -n "$kept" ] && [ -d "$kept" ] || fail "no kept directory in the JSON"
	[ -f "$kept.marks" ] && [ -f "$kept.out" ] || fail "kept marks/output missing"
	grep -q "kept under" "$W/out" || fail "the summary does not say where states are kept"
	# Without --keep-failing nothing stays behind.
	rm -rf "$W/scratch2"
	mkdir -p "$W/scratch2"
	expect_rc 1 "$TORN" explore "$W/buggy.trace" $STRAT --check "$CHECK" --scratch "$W/scratch2"
	[ -z "$(ls -A "$W/scratch2")" ] || fail "scratch not cleaned: $(ls -A "$W/scratch2")"
	;;
interrupt)
	# SIGINT while checkers run: they are killed, the scratch emptied, exit 130.
	record buggy
	mkdir -p "$W/scratch"
	"$TORN" explore "$W/buggy.trace" $STRAT -j 2 --scratch "$W/scratch" \
		--check "sleep 29.123; echo torn-interrupt-marker" >"$W/out" 2>"$W/err" &
	pid=$!
	sleep 1
	kill -INT $pid
	wait $pid
	rc=$?
	[ "$rc" -eq 130 ] || { cat "$W/err" >&2; fail "interrupted explore exited $rc, expected 130"; }
	grep -q "interrupted" "$W/err" || fail "no 'interrupted' message"
	[ -z "$(ls -A "$W/scratch")" ] || fail "scratch not cleaned: $(ls -A "$W/scratch")"
	pgrep -f "sleep 29.123; echo torn-interrupt-marker" >/dev/null && fail "checkers left running"
	pgrep -x -f "sleep 29.123" >/dev/null && fail "checker children left running"
	;;
*)
	fail "unknown case"
	;;
esac
exit 0
