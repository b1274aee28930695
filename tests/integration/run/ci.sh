#!/bin/sh
# tests/integration/run/ci.sh - every command of docs/ci.md, run: the
# unsharded run, the GitHub Actions matrix (4 shards, then torn merge), the
# Kubernetes Indexed Job (JOB_COMPLETION_INDEX 0..3, then merge) and GNU
# parallel.  Each command is first looked up verbatim in docs/ci.md (so the
# page cannot drift from what is tested), then run with build/bin/torn, the
# suite and /reports replaced by this build's paths.  The suite has met and
# missed expectations, so exit codes and the merge of misses are exercised:
# every merged report must equal the unsharded one.
#
# Environment: TORN, SRC, WORK, RUN_FILTER (-k options: a slice of the quick
# suite in the sanitized build, where every checker is slow to start).
set -u
umask 022

W=$WORK/ci
rm -rf "$W"
mkdir -p "$W/extra" "$W/reports"
cd "$W" || exit 1
DOC=$SRC/docs/ci.md

fail() {
	echo "FAIL [run ci]: $*" >&2
	exit 1
}

# The suite: the quick scenarios, plus one that misses (a lost record where
# pass is expected) and one that errors (its setup fails).
cat > extra/miss.scn <<'SCN'
name = zz-miss
run = tinylog write . 3
check = tinylog check .
strategy = sync,prefix
expect = pass
SCN
cat > extra/error.scn <<'SCN'
name = zz-error
setup = exit 4
run = true
check = true
expect = pass
SCN
SUITE="$SRC/scenarios/quick $W/extra ${RUN_FILTER:-}"

# doc CMD: CMD must appear verbatim in docs/ci.md; print it with this
# build's paths substituted.
doc() {
	grep -qF -- "$1" "$DOC" || fail "not in docs/ci.md (the page and this test disagree): $1"
	printf '%s\n' "$1" | sed -e "s#build/bin/torn#$TORN#g" -e "s#scenarios/ #$SUITE #g" \
		-e "s#/reports/#$W/reports/#g"
}

# The report of a run, without what may differ between runs (times, paths
# of the work dirs in commands and traces).
norm() {
	jq -S '{suite, totals, scenarios: [.scenarios[] | {name, file, index, expect, expect_outcome,
		expect_reason, result, met, states_enumerated, unique_states, states_checked, outcomes,
		failures_total, failures: [.failures[] | {state, outcome, crash_point, exit, signal, output}],
		message: (.message // "" | gsub("[^ \u0027]*/(?<n>[^/ \u0027]+)/(?<f>run\\.trace|replay)"; "W/\\(.n)/\\(.f)"))}]}' "$1"
}

# 1. One machine, one job.
cmd=$(doc 'build/bin/torn run scenarios/ --json torn.json --junit torn.xml')
sh -c "$cmd --work $W/w0" >one.out 2>&1
rc=$?
[ "$rc" -eq 1 ] || { cat one.out >&2; fail "unsharded run exited $rc, expected 1 (two misses)"; }
mv torn.json whole.json
mv torn.xml whole.xml
jq -e '.totals.missed == 2 and .shard == null' whole.json >/dev/null || fail "unsharded: $(jq -c .totals whole.json)"
norm whole.json > whole.norm

# 2. GitHub Actions: the matrix step for shards 1..4, then the gate job.
step=$(doc 'build/bin/torn run scenarios/ --shard ${{ matrix.shard }}/4 --work torn-work --json shard-${{ matrix.shard }}.json --junit shard-${{ matrix.shard }}.xml')
misses=0
for i in 1 2 3 4; do
	mkdir -p "gh$i"
	cmd=$(printf '%s\n' "$step" | sed "s/\${{ matrix.shard }}/$i/g")
	(cd "gh$i" && sh -c "$cmd" >out 2>&1)
	rc=$?
	[ "$rc" -le 1 ] || { cat "gh$i/out" >&2; fail "shard $i exited $rc"; }
	misses=$((misses + rc))
	xmllint --noout "gh$i/shard-$i.xml" || fail "shard $i: JUnit not well-formed"
	jq -e ".shard == \"$i/4\"" "gh$i/shard-$i.json" >/dev/null || fail "shard $i: \"shard\""
done
[ "$misses" -ge 1 ] || fail "no shard exited 1, but the suite has misses"
mkdir gate
cp gh*/shard-*.json gate/
cmd=$(doc 'build/bin/torn merge shard-*.json -o torn.json --junit torn.xml')
(cd gate && sh -c "$cmd" >out 2>&1)
rc=$?
[ "$rc" -eq 1 ] || { cat gate/out >&2; fail "merge exited $rc, expected 1"; }
xmllint --noout gate/torn.xml || fail "merged JUnit not well-formed"
[ "$(xmllint --xpath 'count(//testcase)' gate/torn.xml)" = "$(xmllint --xpath 'count(//testcase)' whole.xml)" ] ||
	fail "merged JUnit: testcase count differs"
[ "$(xmllint --xpath 'string(//testsuite/@failures)/@errors' gate/torn.xml 2>/dev/null)" = \
  "$(xmllint --xpath 'string(//testsuite/@failures)/@errors' whole.xml 2>/dev/null)" ] || fail "JUnit counts differ"
for a in tests failures errors; do
	[ "$(xmllint --xpath "string(//testsuite/@$a)" gate/torn.xml)" = "$(xmllint --xpath "string(//testsuite/@$a)" whole.xml)" ] ||
		fail "merged JUnit @$a differs from the unsharded run"
done
jq -e '.merged_shards == 4' gate/torn.json >/dev/null || fail "merged_shards"
norm gate/torn.json > gh.norm
diff whole.norm gh.norm >diff.out || { cat diff.out >&2; fail "GitHub Actions: merged != unsharded"; }

# merge refuses an incomplete or repeated set of shards (exit 2)
(cd gate && "$TORN" merge shard-1.json shard-2.json shard-3.json >/dev/null 2>err)
[ $? -eq 2 ] && grep -q "shard 4/4 is missing" gate/err || fail "merge of 3 of 4 shards: $(cat gate/err)"
(cd gate && "$TORN" merge shard-1.json shard-1.json shard-2.json shard-3.json shard-4.json >/dev/null 2>err)
[ $? -eq 2 ] && grep -q "given twice" gate/err || fail "merge with a repeat: $(cat gate/err)"

# 3. Kubernetes Indexed Job: the container's args with each index, then merge.
args=$(doc 'build/bin/torn run scenarios/ --shard $((JOB_COMPLETION_INDEX + 1))/4 --work /reports/work-$((JOB_COMPLETION_INDEX + 1)) --json /reports/shard-$((JOB_COMPLETION_INDEX + 1)).json --junit /reports/shard-$((JOB_COMPLETION_INDEX + 1)).xml')
for idx in 0 1 2 3; do
	JOB_COMPLETION_INDEX=$idx sh -c "$args" >"k8s$idx.out" 2>&1
	rc=$?
	[ "$rc" -le 1 ] || { cat "k8s$idx.out" >&2; fail "k8s index $idx exited $rc"; }
done
cmd=$(doc 'build/bin/torn merge /reports/shard-*.json -o /reports/torn.json --junit /reports/torn.xml')
sh -c "$cmd" >k8s-merge.out 2>&1
[ $? -eq 1 ] || { cat k8s-merge.out >&2; fail "k8s merge: expected exit 1"; }
norm reports/torn.json > k8s.norm
diff whole.norm k8s.norm >diff.out || { cat diff.out >&2; fail "Kubernetes: merged != unsharded"; }
xmllint --noout reports/torn.xml || fail "k8s merged JUnit not well-formed"

# 4. GNU parallel.
mkdir par
cmd=$(doc 'parallel --line-buffer build/bin/torn run scenarios/ --shard {}/4 -j 1 --json shard-{}.json --junit shard-{}.xml ::: 1 2 3 4')
(cd par && sh -c "$cmd" >out 2>&1)
rc=$?
[ "$rc" -ge 1 ] && [ "$rc" -le 4 ] || { cat par/out >&2; fail "parallel exited $rc, expected the number of shards that missed"; }
cmd=$(doc 'build/bin/torn merge shard-*.json -o torn.json --junit torn.xml')
(cd par && sh -c "$cmd" >mout 2>&1)
[ $? -eq 1 ] || { cat par/mout >&2; fail "parallel merge: expected exit 1"; }
norm par/torn.json > par.norm
diff whole.norm par.norm >diff.out || { cat diff.out >&2; fail "GNU parallel: merged != unsharded"; }

# The replay command of the miss, from the merged JUnit, works when run.
msg=$(xmllint --xpath 'string(//testcase[@name="zz-miss"]/failure)' gate/torn.xml)
replay=$(printf '%s\n' "$msg" | sed -n 's/^ *replay: *//p')
[ -n "$replay" ] || fail "no replay command in the merged JUnit: $msg"
sh -c "$replay" >/dev/null 2>&1 || fail "'$replay' failed"
echo "ci: unsharded = GitHub matrix + merge = Kubernetes Indexed Job + merge = GNU parallel + merge"
