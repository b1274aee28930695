#!/bin/sh
# fuzz/make_seeds.sh BUILD - regenerate the committed seed corpora under
# fuzz/corpus/ from the test suite's own material, using a built tree BUILD
# (the gcc build: bin/torn, tests/trace-sample, lib/libtorn-shim.so).
# Run it after any change of the trace format, and commit fuzz/stateid.trace
# and fuzz/corpus/ with it.
#
#   trace_open    the test suite's sample trace (every event kind, tests/tools/
#                 trace-sample), it cut short and corrupted, and fuzz/stateid.trace
#   trace_decode  the same files without their 64-byte header
#   stateid       state ids that `torn explore` prints for fuzz/stateid.trace
#                 under prefix,torn:all,reorder:2 with every tear kind, in the
#                 three option prefixes (a sample of 40)
#   scenario      every scenario of the bundled suite (scenarios/), as NAME.seed
#                 (not *.scn: `torn run` must not take them for a suite)
# Byte 0 of a trace seed is 1: "fix the checksums" (see fuzz_fixup.h).
set -eu
B=$(cd "$1" && pwd)
F=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

rm -rf "$F/corpus"
mkdir -p "$F/corpus/trace_open" "$F/corpus/trace_decode" "$F/corpus/stateid" \
	"$F/corpus/scenario"
"$B/tests/trace-sample" "$W/sample.trace"
"$B/tests/trace-sample" "$W/cut.trace" cut 40
"$B/tests/trace-sample" "$W/corrupt.trace" corrupt
# fuzz/stateid.trace itself is recorded again (a change of the trace format
# must not leave it behind): a shell script's writes, appends, a directory,
# a rename, a symlink and its unlink, an fsync (dd) and a truncate.
mkdir "$W/root"
(cd "$W/root" && "$B/bin/torn" record -q -o "$F/stateid.trace" --root "$W/root" -- \
	sh -c 'echo hello > a; mkdir d; echo x >> a; mv a d/b; ln -s b d/l; rm -f d/l;
	       dd if=/dev/zero of=big bs=1000 count=3 conv=fsync 2>/dev/null;
	       truncate -s 100 big')
cp "$F/stateid.trace" "$W/stateid.trace"
for t in sample cut corrupt stateid; do
	{ printf '\001'; cat "$W/$t.trace"; } >"$F/corpus/trace_open/$t"
	{ printf '\001'; tail -c +65 "$W/$t.trace"; } >"$F/corpus/trace_decode/$t"
done

: >"$W/ids"
for o in "--sector 4096" "--sector 512" "--model direct --atomic 4096"; do
	# shellcheck disable=SC2086
	"$B/bin/torn" explore "$W/stateid.trace" -q -j2 $o \
		--strategy prefix,torn:all,reorder:2 --tear old,new,zeros,garbage \
		--check "echo \"\$TORN_STATE_ID\" >>$W/ids" >/dev/null || true
done
sort -u "$W/ids" | awk 'NR % 22 == 1' | head -40 | {
	i=0
	while read -r id; do
		printf '%s' "$id" >"$F/corpus/stateid/id$i"
		i=$((i + 1))
	done
}
find "$F/../scenarios" -name '*.scn' | while read -r s; do
	cp "$s" "$F/corpus/scenario/$(basename "$s" .scn).seed"
done
du -sh "$F/corpus"/*
