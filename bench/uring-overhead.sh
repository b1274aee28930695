#!/bin/sh
# bench/uring-overhead.sh BUILD_DIR [RUNS] - wall time of `torn record` of
# an io_uring program against the same program run natively (issue 6):
# 8,192 O_DIRECT writes of 4 KiB at queue depth 32, an fdatasync every 64
# (bench/uring-overhead.c), on /tmp.  Native and recorded runs alternate
# (RUNS of each, default 7); the ratio of the medians is printed
# (target <= 1.15).  A benchmark, not a test: it never fails on timing
# (exit 0 unless a run fails; 0 with a note when io_uring is unavailable).
set -u

B=${1:?usage: uring-overhead.sh BUILD_DIR [RUNS]}
RUNS=${2:-7}
N=8192
TORN=$B/bin/torn
PROG=$B/bench/uring-overhead
[ -x "$TORN" ] && [ -x "$PROG" ] || { echo "uring-overhead: build first ($TORN, $PROG)" >&2; exit 2; }

W=$(mktemp -d /tmp/torn-bench.XXXXXX) || exit 2
trap 'rm -rf "$W"' EXIT INT TERM
mkdir "$W/root"

if ! "$PROG" "$W/root/probe.dat" 64 2>"$W/err"; then
	echo "uring-overhead: skipped: $(cat "$W/err")"
	exit 0
fi

now_ms() { date +%s%N | awk '{ printf "%.3f\n", $1 / 1e6 }'; }

time_ms() {
	rm -f "$W"/root/*.dat "$W/t.trace"
	t0=$(now_ms)
	"$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; echo "uring-overhead: run failed: $*" >&2; exit 1; }
	t1=$(now_ms)
	echo "$t0 $t1" | awk '{ printf "%.1f\n", $2 - $1 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

: >"$W/native"; : >"$W/rec"
i=0
while [ $i -lt "$RUNS" ]; do
	time_ms "$PROG" "$W/root/w.dat" $N >>"$W/native" || exit 1
	time_ms "$TORN" record -q -o "$W/t.trace" --root "$W/root" -- "$PROG" "$W/root/w.dat" $N \
		>>"$W/rec" || exit 1
	i=$((i + 1))
done
nat=$(median <"$W/native")
rec=$(median <"$W/rec")
echo "$nat $rec" | awk '{ printf "io_uring (qd 32, 4 KiB O_DIRECT, fdatasync/64): native %.1f ms, recorded %.1f ms, ratio %.2f (target <= 1.15)\n", $1, $2, $2 / $1 }'
exit 0
