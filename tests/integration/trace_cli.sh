#!/bin/sh
# tests/integration/trace_cli.sh - torn info, torn dump and trace-rebuild on
# a hand-built trace (trace-sample): the numbers it is known to hold, exit
# codes and messages for missing, corrupt and truncated traces.
#
#   trace_cli.sh TORN TRACE_SAMPLE TRACE_REBUILD WORKDIR
set -u
TORN=$1 SAMPLE=$2 REBUILD=$3 W=$4
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# has FILE REGEX: FILE has a line matching REGEX (extended)
has() { grep -Eq -- "$2" "$1" || fail "$1 lacks /$2/"; }

rm -rf "$W" && mkdir -p "$W" || exit 1
cd "$W" || exit 1
"$SAMPLE" s.trace || { echo "trace-sample failed"; exit 1; }

# ---- info: every figure of the sample
"$TORN" info s.trace > info.out 2> info.err || fail "info exit $?"
has info.out '^  status +complete \(program exited 0\)$'
has info.out '^  root +/tmp/root$'
has info.out '^  command +test$'
has info.out '^  processes +2 \(fork 1, exec 0, exit 1\)$'
has info.out '^  files touched +5$'
has info.out '^  writes +6$'
has info.out '^  buffered +4$'
has info.out '^  direct \(O_DIRECT\) +2$'
has info.out '^  durable on return +1 '
has info.out '^  misaligned direct +1 '
has info.out '^  bytes written +627 bytes$'
has info.out '^  unique payload +628 bytes stored for 632 bytes of content \(dedup 1.01x\)$'
has info.out '^durability points: 4$'
has info.out '^  fsync of files +1 \(\+1 failed\)$'
has info.out '^  fdatasync of files +1$'
has info.out '^  fsync of dirs +1$'
has info.out '^  sync +1$'
has info.out '^marks: 2$'
has info.out '^faults: 1$'
has info.out 'posix/io/sync/fsync: EIO \(Input/output error\)'
has info.out '^unsupported \(seen, not modelled\): 3$'
has info.out 'mmap +data/child$'
has info.out 'copy_file_range on a recorded file'
has info.out '^  write +6$'
has info.out '^  open +4$'

# ---- dump: one line per event, blobs on request, JSON Lines
"$TORN" dump s.trace > dump.out || fail "dump exit $?"
[ "$(wc -l < dump.out)" -eq 32 ] || fail "dump: $(wc -l < dump.out) lines, expected 32"
has dump.out '^ +8 +1000 write +h1->data/log off=0 len=4 result=4 src=pwrite hash=[0-9a-f]{16}$'
has dump.out '^ +15 +1000 write +h2->data/direct off=700 len=100 result=100 src=pwrite flags=direct\|misaligned hash='
has dump.out '^ +18 +1000 rename +data/log -> data/log.1 result=0$'
has dump.out '^ +28 +1000 fsync +h1->data/log call=fsync started=28 result=-EIO$'
has dump.out 'mark +- text="put k1 \\"quoted\\"\\tand tabbed"$'
"$TORN" dump --blobs s.trace > blobs.out || fail "dump --blobs exit $?"
[ "$(wc -l < blobs.out)" -eq 38 ] || fail "dump --blobs: $(wc -l < blobs.out) lines, expected 38"
"$TORN" dump --json --blobs s.trace > dump.json || fail "dump --json exit $?"
[ "$(wc -l < dump.json)" -eq 38 ] || fail "dump --json: $(wc -l < dump.json) lines"
has dump.json '^\{"rec":14,"offset":[0-9]+,"seq":12,"pid":1000,"tid":1000,"kind":"mark","text":"put k1 \\"quoted\\"\\tand tabbed"\}$'
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys
for n, l in enumerate(sys.stdin):
    o = json.loads(l)
    assert "kind" in o and "rec" in o, n' < dump.json || fail "dump --json: not JSON Lines"
fi

# ---- errors: exit 2 naming the file (and the record)
"$TORN" info missing.trace > /dev/null 2> err.out
[ $? -eq 2 ] || fail "info missing: exit not 2"
has err.out 'missing\.trace'
off=$("$SAMPLE" c.trace corrupt)
for cmd in info dump; do
	"$TORN" $cmd c.trace > /dev/null 2> err.out
	[ $? -eq 2 ] || fail "$cmd corrupt: exit not 2"
	has err.out "c\.trace: record 5 at offset $off: record checksum mismatch"
done
echo junk > j.trace
"$TORN" dump j.trace > /dev/null 2> err.out
[ $? -eq 2 ] || fail "dump junk: exit not 2"
has err.out 'not a torn trace'

# ---- truncated: cuts inside the last record (END, 128 bytes) read, and say so
for cut in 1 2 3 4 5 64 124 125 127; do
	tail=$((128 - cut))
	"$SAMPLE" t.trace cut $cut
	"$TORN" info t.trace > t.out 2>&1 || fail "info cut $cut: exit $?"
	has t.out "status +truncated: $tail bytes of a cut-short record"
	"$TORN" dump t.trace > t.out 2>&1 || fail "dump cut $cut: exit $?"
	has t.out '^# truncated'
done

# ---- the full-persist rebuild of the sample
"$REBUILD" s.trace out > /dev/null || fail "trace-rebuild exit $?"
[ "$(cat out/data/log.1)" = abcdabcdefgh ] || fail "rebuild: data/log.1"
[ "$(cat out/data/child)" = kid ] || fail "rebuild: data/child"
[ "$(wc -c < out/data/direct)" -eq 800 ] || fail "rebuild: data/direct size"
[ "$(readlink out/latest)" = data/old ] || fail "rebuild: latest"
[ ! -e out/data/old ] && [ ! -e out/data/log ] || fail "rebuild: removed names remain"
[ "$(ls -A out/data | wc -l)" -eq 3 ] || fail "rebuild: data/ has $(ls -A out/data)"
"$REBUILD" s.trace out 2> err.out
[ $? -eq 2 ] || fail "trace-rebuild into a non-empty dir: exit not 2"
has err.out 'not empty'
"$REBUILD" s.trace out13 13 || fail "trace-rebuild upto 13"
[ "$(cat out13/data/log)" = abcdabcdefgh ] && [ ! -e out13/data/direct ] || fail "rebuild upto 13"

[ $fails -eq 0 ] && echo "trace_cli: all checks passed"
exit $((fails != 0))
