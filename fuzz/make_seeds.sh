#!/bin/sh
# fuzz/make_seeds.sh BUILD [TARGET...] - regenerate the committed seed
# corpora under fuzz/corpus/ from the test suite's own material, using a
# built tree BUILD (the gcc build: bin/torn, tests/trace-sample,
# lib/libtorn-shim.so); only those of the TARGETs given (default: all;
# trace_open, trace_decode and stateid go together: they share
# fuzz/stateid.trace).  Run it after any change of the trace format, and
# commit fuzz/stateid.trace and fuzz/corpus/ with it.
#
#   trace_open    the test suite's sample trace (every event kind, tests/tools/
#                 trace-sample), it cut short and corrupted, and fuzz/stateid.trace
#   trace_decode  the same files without their 64-byte header
#   stateid       state ids that `torn explore` prints for fuzz/stateid.trace
#                 under prefix,torn:all,reorder:2 with every tear kind, in the
#                 three option prefixes (a sample of 40)
#   scenario      every scenario of the bundled suite (scenarios/), as NAME.seed
#                 (not *.scn: `torn run` must not take them for a suite)
#   fault_spec    every fault spec of the test suite: the strings the unit
#                 test (tests/unit/test_fault_spec.c) parses, accepted and
#                 refused; the `fault =` values of the bundled scenarios;
#                 the --fault and spec= values of the integration scripts;
#                 and, as the faults/points test does, `enable name=POINT`
#                 for every point `torn faults --list` names
# Byte 0 of a trace seed is 1: "fix the checksums" (see fuzz_fixup.h).
set -eu
B=$(cd "$1" && pwd)
F=$(cd "$(dirname "$0")" && pwd)
T=$(cd "$F/.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
shift
targets=${*:-trace_open trace_decode stateid scenario fault_spec}
want() {
	for w in "$@"; do
		case " $targets " in *" $w "*) return 0 ;; esac
	done
	return 1
}

if want trace_open trace_decode stateid; then
rm -rf "$F/corpus/trace_open" "$F/corpus/trace_decode" "$F/corpus/stateid"
mkdir -p "$F/corpus/trace_open" "$F/corpus/trace_decode" "$F/corpus/stateid"
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
fi

if want scenario; then
rm -rf "$F/corpus/scenario"
mkdir -p "$F/corpus/scenario"
find "$T/scenarios" -name '*.scn' | while read -r s; do
	cp "$s" "$F/corpus/scenario/$(basename "$s" .scn).seed"
done
fi

if want fault_spec; then
rm -rf "$F/corpus/fault_spec"
mkdir -p "$F/corpus/fault_spec"
# One spec per line of $W/specs, C escapes (\n, \t) still written as such.
{
	grep -oh '\(parse_ok\|parse_bad\|round_trip\)("\([^"\\]\|\\.\)*"' \
		"$T/tests/unit/test_fault_spec.c" | sed 's/^[a-z_]*("//; s/"$//'
	find "$T/scenarios" -name '*.scn' -exec sed -n 's/^fault *= *//p' {} +
	grep -oh -- "--fault '[^']*'\|spec='[^']*'" "$T"/tests/integration/*/*.sh |
		sed "s/^[^']*'//; s/'\$//"
	"$B/bin/torn" faults --list --json | jq -r '"enable name=" + .point'
} | LC_ALL=C sort -u >"$W/specs"
i=0
while IFS= read -r spec; do
	printf '%b' "$spec" >"$F/corpus/fault_spec/s$i"
	i=$((i + 1))
done <"$W/specs"
fi
du -sh "$F/corpus"/*
