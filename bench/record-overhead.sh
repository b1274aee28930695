#!/bin/sh
# bench/record-overhead.sh BUILD_DIR [RUNS] - wall time of `torn record`
# against the same program run natively, side by side in one run: native and
# recorded runs alternate (RUNS of each, default 7), and the ratio of the
# medians is printed.  Workloads (bench/record-overhead.c), on /tmp:
#   (a) append: 2,000 appends of 4 KiB, each followed by fdatasync  target <= 1.10
#   (b) stream: 64 MiB of 4 KiB buffered writes, no fsync           target <= 1.50
#   and (a) and (b) again with the trace in /dev/shm (memory) rather than on
#   /tmp: what recording costs apart from a second stream of writes to the
#   same disk
# A benchmark, not a test: it never fails on timing (exit 0 unless a run fails).
set -u

B=${1:?usage: record-overhead.sh BUILD_DIR [RUNS]}
RUNS=${2:-7}
TORN=$B/bin/torn
PROG=$B/bench/record-overhead
[ -x "$TORN" ] && [ -x "$PROG" ] || { echo "record-overhead: build first ($TORN, $PROG)" >&2; exit 2; }

W=$(mktemp -d /tmp/torn-bench.XXXXXX) || exit 2
trap 'rm -rf "$W"' EXIT INT TERM
mkdir "$W/root"

now_ms() { date +%s%N | awk '{ printf "%.3f\n", $1 / 1e6 }'; }

# time_ms CMD...: wall milliseconds of one run (the data file and the trace
# of the run before removed first, so every run starts from the same empty
# root and snapshot, and neither side pays for truncating the last run's
# 64 MiB - ~17 ms for the trace on ext4)
time_ms() {
	rm -f "$W"/root/*.dat "$W"/t.trace ${T2:+"$T2"/t.trace}
	t0=$(now_ms)
	"$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; echo "record-overhead: run failed: $*" >&2; exit 1; }
	t1=$(now_ms)
	echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# The trace goes next to the data (/tmp), as a user would put it; the -shm
# rows write it to memory (/dev/shm) instead, to tell the cost of recording
# from the cost of writing a second copy of every byte to the same disk.
SHM=/dev/shm
[ -d "$SHM" ] && [ -w "$SHM" ] || SHM=
T2=
[ -n "$SHM" ] && T2=$(mktemp -d "$SHM/torn-bench.XXXXXX")
trap 'rm -rf "$W" ${T2:+"$T2"}' EXIT INT TERM

# Wall time is what the targets are about; on a busy machine it mostly
# measures the load, so the CPU time of the program itself (cpu_ratio: the
# shim's cost, the recorder's consumer runs beside it) is shown too.
printf '%-14s %5s %10s %12s %7s %7s %10s %9s  %s\n' workload runs native_ms recorded_ms ratio target cpu_ratio trace_MiB trace_in
for row in append ${T2:+append-shm} stream ${T2:+stream-shm}; do
	wl=${row%-shm}
	trace=$W/t.trace
	case $row in *-shm) trace=$T2/t.trace ;; esac
	: >"$W/native" ; : >"$W/recorded" ; : >"$W/cpu_native" ; : >"$W/cpu_recorded"
	i=0
	while [ $i -lt "$RUNS" ]; do
		BENCH_CPU_OUT=$W/cpu_native time_ms "$PROG" $wl "$W/root" >>"$W/native"
		BENCH_CPU_OUT=$W/cpu_recorded time_ms "$TORN" record -q -o "$trace" --root "$W/root" -- \
			"$PROG" $wl "$W/root" >>"$W/recorded"
		i=$((i + 1))
	done
	n=$(median <"$W/native")
	r=$(median <"$W/recorded")
	cn=$(median <"$W/cpu_native")
	cr=$(median <"$W/cpu_recorded")
	case $row in append) target='<=1.10' ;; stream) target='<=1.50' ;; *) target='-' ;; esac
	mib=$(wc -c <"$trace" | awk '{ printf "%.1f", $1 / 1048576 }')
	rm -f "$trace"
	echo "$row $RUNS $n $r $target $mib $(dirname "$trace") $cn $cr" |
		awk '{ printf "%-14s %5d %10.1f %12.1f %7.2f %7s %10.2f %9s  %s\n",
		       $1, $2, $3, $4, $4 / $3, $5, $9 / $8, $6, $7 }'
done
