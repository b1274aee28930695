#!/bin/sh
# tests/integration/fsyncgate/fsyncgate_test.sh CASE - torn finds data
# acknowledged after a failed fsync (issue 7): tests/tools/fsync-retry
# recorded with an injected fsync EIO, explored with its checker
# (tests/tools/fsync-retry-check.sh).
#   retry   the program retries the fsync and acknowledges: explore exits 1,
#           every failure from the acknowledgement on carries the reason
#           "acknowledged after failed fsync", the reference state right
#           after the first acknowledgement is among them (exit 1 of the
#           checker: record 2 is missing), none before it; the same with
#           the first record's fsync failing; minimize keeps the reason
#   blind   the same trace checked by a checker that passes everything:
#           torn's own finding remains (one failure, "found by torn")
#   fatal   the program treats the failure as fatal: no failure at all
#   scenario  torn run: expect = fail with expect-reason, and the fatal
#           program with expect = pass
# Exit 0 pass, 1 fail (the reason on stderr).
set -u
umask 022

case_name=$1
W=$WORK/$case_name
rm -rf "$W"
mkdir -p "$W/root"
W=$(cd "$W" && pwd)
R=$W/root
CHECK="sh $TOOLS/fsync-retry-check.sh"

fail() {
	echo "fsyncgate/$case_name: $*" >&2
	exit 1
}
command -v jq >/dev/null 2>&1 || fail "jq is needed (scripts/deps.sh installs it)"

# rec NAME MODE FAULT: record fsync-retry MODE with FAULT into $W/NAME.trace
rec() {
	rm -rf "$R" && mkdir -p "$R"
	"$TORN" record -q -o "$W/$1.trace" --root "$R" --fault "$3" -- \
		"$BIN/fsync-retry" "$R" "$2" 4 > "$W/$1.out" 2> "$W/$1.err"
}

# explore NAME CHECK [options]: explore $W/NAME.trace, JSON to $W/NAME.json;
# prints explore's exit status
explore() {
	n=$1 c=$2
	shift 2
	"$TORN" explore "$W/$n.trace" -q --check "$c" --json "$W/$n.json" "$@" \
		> "$W/$n.explore" 2>&1
	echo $?
}

# check_retry NAME REC: the failures of a retry run whose failed fsync
# dropped record REC
check_retry() {
	j=$W/$1.json
	# the first acknowledgement after the fault
	ack=$("$TORN" dump --json "$W/$1.trace" | jq -s '([.[] | select(.kind == "fault")][0].seq)
		as $f | [.[] | select(.kind == "mark" and .seq > $f)][0].seq')
	[ -n "$ack" ] && [ "$ack" != null ] || fail "$1: no mark in the trace"
	n=$(jq '.failures | length' "$j")
	[ "$n" -ge 1 ] || fail "$1: no failure reported"
	bad=$(jq --argjson a "$ack" '[.failures[] | select(.crash_point > $a) |
		select((.reason // "") | startswith("acknowledged after failed fsync: data.log lost") | not)] | length' "$j")
	[ "$bad" = 0 ] || fail "$1: $bad failures after the acknowledgement without the reason"
	early=$(jq --argjson a "$ack" '[.failures[] | select(.crash_point <= $a)] | length' "$j")
	[ "$early" = 0 ] || fail "$1: $early failures before the acknowledgement"
	ref=$(jq -r --argjson a "$ack" '[.failures[] | select(.crash_point == $a + 1) |
		select(.state | test(":") | not)][0] | "\(.exit) \(.output[-1])"' "$j")
	[ "$ref" = "1 acknowledged record $2 is not in data.log" ] ||
		fail "$1: the reference state after the acknowledgement: '$ref'"
}

case $case_name in
retry)
	rec t retry 'fsync@data.log#2=EIO' || fail "record: $(cat "$W/t.err")"
	[ "$(cat "$W/t.out")" = "ack 1
ack 2
ack 3
ack 4" ] || fail "the retrying program did not acknowledge every record: $(cat "$W/t.out")"
	"$TORN" dump --json "$W/t.trace" | jq -e -s '[.[] | select(.kind == "fault")] | length == 1' \
		>/dev/null || fail "not one fault event in the trace"
	rc=$(explore t "$CHECK" --strategy sync,prefix)
	[ "$rc" = 1 ] || fail "explore exited $rc, expected 1: $(cat "$W/t.explore")"
	check_retry t 2
	grep -q "reason: acknowledged after failed fsync: data.log lost" "$W/t.explore" ||
		fail "the summary does not show the reason"
	# the first record's fsync fails: record 1 is the one lost
	rec l retry 'fsync@data.log#1=EIO' || fail "record: $(cat "$W/l.err")"
	rc=$(explore l "$CHECK" --strategy prefix)
	[ "$rc" = 1 ] || fail "explore (prefix) exited $rc"
	check_retry l 1
	# minimize a failing state with deviations: the reason stays
	cp "$W/t.trace" "$W/r.trace"
	rc=$(explore r "$CHECK" --strategy reorder:1 --crash-points sync)
	[ "$rc" = 1 ] || fail "explore (reorder:1) exited $rc"
	id=$(jq -r '[.failures[] | select(.state | test(":"))][0].state' "$W/r.json")
	[ "$id" != null ] || fail "reorder:1 found no failing state with deviations"
	"$TORN" minimize "$W/t.trace" --state "$id" --check "$CHECK" > "$W/min.out" 2>&1
	grep -q "^reason:   acknowledged after failed fsync" "$W/min.out" ||
		fail "minimize lost the reason: $(cat "$W/min.out")"
	;;
blind)
	rec t retry 'fsync@data.log#3=EIO' || fail "record: $(cat "$W/t.err")"
	rc=$(explore t true --strategy sync)
	[ "$rc" = 1 ] || fail "explore with a blind checker exited $rc, expected 1"
	[ "$(jq '.failures | length' "$W/t.json")" = 1 ] || fail "not exactly one finding"
	jq -e '.failures[0] | .exit == 0 and .outcome == "fail" and
		(.reason | test("^acknowledged after failed fsync: data.log lost [0-9]+ bytes at offset [0-9]+ .* failed \\(EIO\\); .* then mark .ack 3. at seq"))' \
		"$W/t.json" >/dev/null || fail "the finding: $(jq -c '.failures[0]' "$W/t.json")"
	grep -q "found by torn; the checker passed" "$W/t.explore" ||
		fail "the summary does not say torn found it"
	;;
fatal)
	rec t fatal 'fsync@data.log#2=EIO'
	[ $? = 1 ] || fail "the fatal program should exit 1"
	[ "$(cat "$W/t.out")" = "ack 1" ] || fail "fatal acknowledged: $(cat "$W/t.out")"
	rc=$(explore t "$CHECK" --strategy sync,prefix,reorder:2)
	[ "$rc" = 0 ] || fail "explore of the fatal program exited $rc: $(cat "$W/t.explore")"
	;;
scenario)
	mkdir -p "$W/s"
	cat > "$W/s/retry.scn" <<EOS
name = fsyncgate-retry
description = fsyncgate: retry after EIO and acknowledge
run = $BIN/fsync-retry . retry 4
fault = fsync@data.log#2=EIO
check = $CHECK
strategy = sync,prefix
expect = fail
expect-reason = acknowledged after failed fsync
EOS
	cat > "$W/s/fatal.scn" <<EOS
name = fsyncgate-fatal
description = fsyncgate: a failed fsync is fatal (the program exits 1)
run = $BIN/fsync-retry . fatal 4; test \$? = 1
fault = fsync@data.log#2=EIO
check = $CHECK
strategy = sync,prefix
expect = pass
EOS
	"$TORN" run -q "$W/s" --json "$W/run.json" > "$W/run.out" 2>&1 ||
		fail "torn run: $(cat "$W/run.out")"
	;;
*)
	fail "unknown case"
	;;
esac
exit 0
