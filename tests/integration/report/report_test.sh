#!/bin/sh
# tests/integration/report/report_test.sh CASE TORN ARTIFACTS [TORNKV] - torn
# report (issue 9): record a run, explore it, write its page, and check it.
#
# CASE:
#   sqlite-off   sqlite3, journal_mode=DELETE, synchronous=OFF (20 acked
#                transactions, crash points at the end: acked rows lost)
#   engine-bug   tornkv wal with the seeded bug checksum-header-only, torn
#                writes with every tear pattern (a torn record's payload)
#   escape       file names, marks and checker output full of markup and
#                bytes that are not UTF-8: escaped, never interpreted
#   binned       9,000 events: the timeline stays at most 240 columns
#   usage        bad input: exit 2 with a message naming the file
#   run          torn run --html DIR on scenarios/sqlite/off.scn: a page per
#                scenario and an index linking it
#
# Every page: `xmllint --html` says nothing (valid HTML), no external
# reference (src=, href= other than #anchors, url(), @import), and for the
# first two it is rendered in headless Chromium: the DOM after the script
# ran (--dump-dom, queried with xmllint --xpath) holds the timeline, crash
# points, a selected failing crash point whose failing states the script
# listed, and a failing state's sector map with a dropped/torn sector; a
# screenshot is kept in ARTIFACTS/CASE.png (with the page, CASE.html).
# Chromium absent is a failure: scripts/deps.sh installs it.
set -u
umask 022

case=$1
TORN=$2
ART=$3
KV=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
SQLCHECK=$HERE/../sqlite/check.sh

W=$(mktemp -d "${TMPDIR:-/tmp}/torn-report.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$ART" "$W/root"

fail() {
	echo "FAIL [report $case]: $*" >&2
	exit 1
}

# xpath COUNT-EXPR FILE: the number an XPath count() gives
xpath() {
	xmllint --html --xpath "$1" "$2" 2>/dev/null
}

# The page is valid HTML and self-contained.
check_page() {
	page=$1
	[ -s "$page" ] || fail "no page written"
	err=$(xmllint --html --noout "$page" 2>&1)
	[ -z "$err" ] || { echo "$err" | head -20 >&2; fail "xmllint --html: the page is not valid"; }
	head -c 15 "$page" | grep -q '<!DOCTYPE html>' || fail "no doctype"
	grep -Eiq '<(script|img|link|iframe)[^>]* (src|href)=' "$page" && fail "an external asset"
	grep -Eio 'href="[^"#][^"]*"' "$page" | head -1 | grep -q . && fail "a link out of the page"
	grep -Eiq 'url\(|@import|https?://' "$page" && fail "a network reference"
	for k in 'id="timeline"' 'class="crash-point' '<script>'; do
		grep -q "$k" "$page" || fail "the page has no $k"
	done
}

chrome() {
	command -v chromium >/dev/null ||
		fail "chromium is not installed (scripts/deps.sh installs it)"
	prof=$(mktemp -d "$W/prof.XXXXXX")
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$prof" "$@" 2>"$W/chrome.err"
}

# Render in the browser: DOM queries after the script ran, then a screenshot.
check_browser() {
	page=$1
	chrome --virtual-time-budget=2000 --dump-dom "file://$page" >"$W/dom.html" ||
		{ tail -5 "$W/chrome.err" >&2; fail "chromium --dump-dom failed"; }
	[ -s "$W/dom.html" ] || fail "chromium dumped no DOM"
	n=$(xpath 'count(//div[@id="timeline"]//div[@class="row"])' "$W/dom.html")
	[ "${n:-0}" -ge 2 ] || fail "the timeline has $n lanes in the DOM"
	n=$(xpath 'count(//span[contains(@class,"crash-point")])' "$W/dom.html")
	[ "${n:-0}" -ge 1 ] || fail "no crash point in the DOM"
	# the script selected the first failing crash point and listed its states
	n=$(xpath 'count(//span[contains(@class,"crash-point") and contains(@class,"sel") and contains(@class,"o-fail")])' "$W/dom.html")
	[ "$n" = 1 ] || fail "no failing crash point selected by the script ($n)"
	xpath 'string(//div[@id="cp-detail"])' "$W/dom.html" | grep -Eq '[0-9]+ failing state' ||
		fail "clicking a crash point did not list its failing states: $(xpath 'string(//div[@id="cp-detail"])' "$W/dom.html")"
	n=$(xpath 'count(//div[contains(@class,"state")]//div[@class="sector-map"])' "$W/dom.html")
	[ "${n:-0}" -ge 1 ] || fail "no failing state's sector map in the DOM"
	n=$(xpath 'count(//div[@class="sector-map"]//span[@class="s-old" or @class="s-zeros" or @class="s-garbage" or @class="s-dropped"])' "$W/dom.html")
	[ "${n:-0}" -ge 1 ] || fail "no sector map shows a dropped or torn sector"
	cp "$W/dom.html" "$ART/$case.dom.html"
	rm -f "$ART/$case.png"
	chrome --virtual-time-budget=2000 --screenshot="$ART/$case.png" --window-size=1400,1000 \
		"file://$page" >/dev/null || { tail -5 "$W/chrome.err" >&2; fail "screenshot failed"; }
	[ -s "$ART/$case.png" ] || fail "no screenshot"
	echo "page $ART/$case.html, screenshot $ART/$case.png"
}

report() {
	"$TORN" report "$W/run.trace" --results "$W/r.json" -o "$ART/$case.html" "$@" \
		2>"$W/report.err" || { cat "$W/report.err" >&2; fail "torn report exited $?"; }
}

case $case in
sqlite-off)
	command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (scripts/deps.sh installs it)"
	sqlite3 "$W/root/db.sqlite" "PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" \
		>/dev/null || fail "cannot create the database"
	sql="PRAGMA synchronous=OFF;"
	i=1
	while [ $i -le 20 ]; do
		sql="$sql BEGIN; INSERT INTO t VALUES($i, 'row $i'); COMMIT; SELECT 'ack $i';"
		i=$((i + 1))
	done
	(cd "$W/root" && "$TORN" record -q --marks-from-stdout -o "$W/run.trace" --root "$W/root" \
		-- sqlite3 db.sqlite "$sql") >/dev/null 2>"$W/rec.err" || { cat "$W/rec.err" >&2; fail "record"; }
	"$TORN" explore "$W/run.trace" --crash-points sync --strategy sync,prefix -j 2 -q \
		--check "sh $SQLCHECK" --json "$W/r.json" >/dev/null 2>&1
	[ $? -eq 1 ] || fail "torn explore found no failure under synchronous=OFF"
	report --title "sqlite3 synchronous=OFF"
	check_page "$ART/$case.html"
	grep -q 'lost acknowledged row' "$ART/$case.html" || fail "the checker's output is not on the page"
	grep -q 'db.sqlite-journal' "$ART/$case.html" || fail "no lane for the journal"
	grep -q 'torn minimize ' "$ART/$case.html" || fail "no minimize command"
	check_browser "$ART/$case.html"
	;;
engine-bug)
	[ -x "$KV" ] || fail "no tornkv at '$KV'"
	flags="--engine wal --mode buffered --ops 40 --keys 8 --value-size 300 --bug checksum-header-only"
	# shellcheck disable=SC2086
	"$TORN" record -q -o "$W/run.trace" --root "$W/root" -- "$KV" $flags --dir "$W/root" workload \
		>/dev/null 2>"$W/rec.err" || { cat "$W/rec.err" >&2; fail "record"; }
	"$TORN" explore "$W/run.trace" --strategy sync,torn --tear old,new,zeros,garbage --seed 1 -q \
		--timeout 20 --check "$KV $flags --dir . check" --json "$W/r.json" >/dev/null 2>&1
	[ $? -eq 1 ] || fail "torn explore did not find the seeded bug"
	report --title "tornkv wal checksum-header-only"
	check_page "$ART/$case.html"
	grep -q 'is damaged' "$ART/$case.html" || fail "the checker's verdict is not on the page"
	grep -q -- '--timeout 20' "$ART/$case.html" || fail "minimize is not given the timeout"
	# the torn unit's sector is shown as garbage or zeros in some state
	grep -Eq 'class="s-(garbage|zeros)"' "$ART/$case.html" || fail "no torn sector in any map"
	check_browser "$ART/$case.html"
	;;
escape)
	# Hostile names and texts: markup, quotes, an ampersand, a byte that is
	# not UTF-8 (\377) and a control character (\001).
	cat >"$W/prog.sh" <<'PROG'
name=$(printf '<img src=x onerror=alert(1)>&"q'"'"'\377\001.txt')
printf 'data' >"$name"
mv "$name" "$name.2"
printf '%s\n' '<script>alert("mark")</script>'
PROG
	(cd "$W/root" && "$TORN" record -q --marks-from-stdout -o "$W/run.trace" --root "$W/root" \
		-- sh "$W/prog.sh") >/dev/null 2>"$W/rec.err" || { cat "$W/rec.err" >&2; fail "record"; }
	printf '%s\n' 'echo "<b>checker</b> & \"friends\""; exit 3' >"$W/check.sh"
	"$TORN" explore "$W/run.trace" --strategy sync,prefix -q --check "sh $W/check.sh" \
		--json "$W/r.json" >/dev/null 2>&1
	[ $? -eq 1 ] || fail "the failing checker did not fail"
	report --title '<u>title</u>'
	check_page "$ART/$case.html"
	grep -q '<img' "$ART/$case.html" && fail "a file name was not escaped"
	grep -q '<script>alert' "$ART/$case.html" && fail "a mark was not escaped"
	grep -q '<b>checker' "$ART/$case.html" && fail "the checker's output was not escaped"
	grep -q '<u>title' "$ART/$case.html" && fail "the title was not escaped"
	grep -q '&lt;img src=x onerror=alert(1)&gt;&amp;&quot;q&#39;' "$ART/$case.html" ||
		fail "the file name is not on the page, escaped"
	grep -q '&lt;b&gt;checker&lt;/b&gt; &amp; &quot;friends&quot;' "$ART/$case.html" ||
		fail "the checker output is not on the page, escaped"
	# the page is UTF-8 throughout (the \377 byte became U+FFFD)
	iconv -f UTF-8 -t UTF-8 "$ART/$case.html" >/dev/null 2>&1 || fail "the page is not valid UTF-8"
	;;
binned)
	# 3,000 appends, each its own open/write/close: 9,000 events
	(cd "$W/root" && "$TORN" record -q -o "$W/run.trace" --root "$W/root" -- sh -c \
		'i=0; while [ $i -lt 3000 ]; do echo "line $i" >>log; i=$((i + 1)); done; sync') \
		>/dev/null 2>"$W/rec.err" || { cat "$W/rec.err" >&2; fail "record"; }
	"$TORN" explore "$W/run.trace" --strategy sync -q --check true --json "$W/r.json" \
		>/dev/null 2>&1 || fail "explore"
	report
	check_page "$ART/$case.html"
	n=$(grep -o 'class="w w-' "$ART/$case.html" | wc -l)
	[ "$n" -ge 100 ] && [ "$n" -le 240 ] || fail "$n write blocks for one lane (expected 100..240)"
	size=$(wc -c <"$ART/$case.html")
	[ "$size" -lt 400000 ] || fail "the page of 9,000 events is $size bytes"
	grep -q 'events binned' "$ART/$case.html" || fail "the binning is not said"
	grep -q 'Every state checked passed' "$ART/$case.html" || fail "a passing run does not say so"
	;;
usage)
	cd "$W/root" || fail "cd"
	"$TORN" record -q -o "$W/run.trace" --root "$W/root" -- sh -c 'echo x >f' >/dev/null 2>&1 ||
		fail "record"
	"$TORN" explore "$W/run.trace" -q --check true --json "$W/r.json" >/dev/null 2>&1 || fail "explore"
	"$TORN" report "$W/run.trace" -o "$W/p.html" 2>"$W/e"; rc=$?
	[ $rc -eq 2 ] && grep -q -- '--results' "$W/e" || fail "no --results: exit $rc"
	"$TORN" report "$W/run.trace" --results "$W/nope.json" -o "$W/p.html" 2>"$W/e"; rc=$?
	[ $rc -eq 2 ] && grep -q 'nope.json' "$W/e" || fail "missing report: exit $rc: $(cat "$W/e")"
	echo '{"version": 1' >"$W/bad.json"
	"$TORN" report "$W/run.trace" --results "$W/bad.json" -o "$W/p.html" 2>"$W/e"; rc=$?
	[ $rc -eq 2 ] && grep -q 'bad.json' "$W/e" || fail "bad JSON: exit $rc: $(cat "$W/e")"
	"$TORN" record -q -o "$W/other.trace" --root "$W/root" -- sh -c 'echo y >g' >/dev/null 2>&1
	"$TORN" report "$W/other.trace" --results "$W/r.json" -o "$W/p.html" 2>"$W/e"; rc=$?
	[ $rc -eq 2 ] && grep -q 'another trace' "$W/e" || fail "report of another trace: exit $rc: $(cat "$W/e")"
	"$TORN" report "$W/run.trace" --results "$W/r.json" -o "$W/nodir/p.html" 2>"$W/e"; rc=$?
	[ $rc -eq 2 ] && grep -q 'nodir' "$W/e" || fail "unwritable output: exit $rc: $(cat "$W/e")"
	[ -e "$W/p.html" ] && fail "a page was written despite errors"
	"$TORN" report "$W/run.trace" --results "$W/r.json" --max-states 0 -o "$W/p.html" 2>"$W/e"; rc=$?
	[ $rc -eq 2 ] || fail "--max-states 0: exit $rc"
	"$TORN" report --help | grep -q -- '--max-lanes' || fail "usage does not list --max-lanes"
	"$TORN" report "$W/run.trace" --results "$W/r.json" -o - | xmllint --html --noout - ||
		fail "the page on stdout is not valid"
	;;
run)
	scn=$HERE/../../../scenarios/sqlite/off.scn
	[ -f "$scn" ] || fail "no scenario $scn"
	"$TORN" run "$scn" --html "$W/html/sub" --work "$W/work" -j 2 -q >"$W/run.out" 2>&1 ||
		{ cat "$W/run.out" >&2; fail "torn run exited $?"; }
	[ -s "$W/html/sub/index.html" ] || fail "no index.html"
	[ -s "$W/html/sub/sqlite-off.html" ] || fail "no page for sqlite-off"
	grep -q 'href="sqlite-off.html"' "$W/html/sub/index.html" || fail "the index does not link the page"
	for p in "$W/html/sub/index.html" "$W/html/sub/sqlite-off.html"; do
		err=$(xmllint --html --noout "$p" 2>&1)
		[ -z "$err" ] || { echo "$err" | head >&2; fail "$p is not valid HTML"; }
	done
	check_page "$W/html/sub/sqlite-off.html"
	grep -q 'class="sector-map"' "$W/html/sub/sqlite-off.html" || fail "no sector map"
	grep -q 'torn report: sqlite-off' "$W/html/sub/sqlite-off.html" || fail "the page is not titled"
	cp "$W/html/sub/index.html" "$ART/run-index.html"
	"$TORN" run "$scn" --html /proc/nope/x -q >/dev/null 2>"$W/e"; rc=$?
	[ $rc -eq 2 ] && grep -q '/proc/nope' "$W/e" || fail "--html into an impossible dir: exit $rc"
	;;
*)
	fail "unknown case"
	;;
esac
echo "ok [report $case]"
