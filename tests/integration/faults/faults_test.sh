#!/bin/sh
# tests/integration/faults/faults_test.sh CASE - integration tests of fault
# injection (torn record --fault, injector/shim_fault.c).
#
# Environment (set by tests/integration/faults.cmake):
#   TORN the torn binary   BIN the test programs   TOOLS tests/tools   WORK scratch
#   SANITIZED 1 in the ASan+UBSan build
#
# Cases:
#   points       the list agrees with the shim: for every point of `torn
#                faults --list` and every call it covers, fault_calls makes
#                that call under `enable name=POINT,failinfo=EIO` (a short
#                write for a /reduce point): the call fails with EIO (is
#                short, its prefix and only it in the file), and the trace
#                holds a FAULT event naming the point, right before the
#                call's own event with the same result
#   fsync-eio    fsync fails with EIO, torn's form (the 2nd fsync of
#                wal.log) and libfiu's (onetime): the program sees it, the
#                trace has FAULT then FSYNC -EIO, torn info lists it
#   write-enospc the 2nd write fails with ENOSPC: nothing of it in the file,
#                its WRITE event carries -ENOSPC and no content
#   short        short:5 and short (half): the prefix on disk equals the
#                length returned, the WRITE event carries that prefix
#   eintr        write and fsync interrupted (EINTR); a program that
#                retries EINTR (fsync-retry) completes
#   random-seed  enable_random with --fault-seed: the same seed twice gives
#                the same faults and the same program output; errnos drawn
#                without failinfo come from the point's list
#   onetime      an onetime point fails once
#   fork         torn's counts span the process tree (the 3rd fsync is the
#                child's); libfiu's onetime is per process, inherited by fork;
#                enable_random in two fork children: each its own sequence,
#                the same in two runs of one seed
#   exec         the faults follow into an exec'd image; libfiu's state
#                starts afresh there
#   uring        io_uring write and fsync completions fail in torn's form
#   bad-spec     bad --fault / --fault-seed: exit 2 naming the bad part
#   no-fault     without --fault nothing is injected, even with a stray
#                $TORN_FAULTS in torn's environment
#   fsync-retry  the fsyncgate program recorded: retry acknowledges every
#                record after a failed fsync, fatal stops and exits 1
# Exit 0 pass, 1 fail (the reason on stderr).
set -u
umask 022

case_name=$1
W=$WORK/$case_name
rm -rf "$W"
mkdir -p "$W/root"
W=$(cd "$W" && pwd)
R=$W/root

fail() {
	echo "faults/$case_name: $*" >&2
	exit 1
}

command -v jq >/dev/null 2>&1 || fail "jq is needed (scripts/deps.sh installs it)"

# rec NAME [torn record options] -- CMD...: record into $W/NAME.trace, the
# program's stdout into $W/NAME.out; the exit status is torn record's.
rec() {
	name=$1
	shift
	"$TORN" record -q -o "$W/$name.trace" --root "$R" "$@" > "$W/$name.out" 2> "$W/$name.err"
}

# fresh: an empty root
fresh() {
	rm -rf "$R"
	mkdir -p "$R"
}

# events NAME: the trace's events as JSON lines (blobs left out)
events() {
	"$TORN" dump --json "$W/$1.trace" | jq -c 'select(.kind != "blob")'
}

# faults NAME: "point path result flags" per FAULT event
faults() {
	events "$1" | jq -r 'select(.kind == "fault") | "\(.point) \(.path // "-") \(.result) \(.flags // "-")"'
}

# after_fault NAME: for each FAULT event, the event right after it:
# "kind result"
after_fault() {
	events "$1" | jq -rs '. as $e | range(0; length) | select($e[.].kind == "fault")
		| $e[. + 1] // {kind: "none"} | "\(.kind) \(.result)"'
}

expect_out() {   # expect_out NAME TEXT: the program's output is exactly TEXT
	printf '%s\n' "$2" > "$W/want"
	cmp -s "$W/want" "$W/$1.out" || {
		echo "--- want" >&2; cat "$W/want" >&2; echo "--- got" >&2; cat "$W/$1.out" >&2
		fail "$1: unexpected program output"
	}
}

case $case_name in
points)
	"$TORN" faults --list --json > "$W/points.json" || fail "torn faults --list --json failed"
	npoints=$(wc -l < "$W/points.json")
	[ "$npoints" -ge 25 ] || fail "only $npoints points listed"
	ncalls=0
	while IFS= read -r line; do
		point=$(printf '%s' "$line" | jq -r .point)
		short=$(printf '%s' "$line" | jq -r .short)
		for call in $(printf '%s' "$line" | jq -r '.calls[]'); do
			ncalls=$((ncalls + 1))
			fresh
			n=p$ncalls
			# Sanitized build: the ASan runtime, preloaded in front of the
			# shim (docs/record.md), has its own fprintf, __fprintf_chk and
			# printf, which call vfprintf / vprintf: the shim sees those.
			inj=$point
			if [ "${SANITIZED:-0}" = 1 ]; then
				case $call in
				fprintf|__fprintf_chk|printf) inj=${point%/*}/v${point##*/} ;;
				esac
			fi
			if [ "$short" = true ]; then
				spec="enable name=$inj"
			else
				spec="enable name=$inj,failinfo=EIO"
			fi
			rec "$n" --fault "$spec" -- "$BIN/fault_calls" "$R" "$call" ||
				fail "$point/$call: torn record failed: $(cat "$W/$n.err")"
			out=$(cat "$W/$n.out")
			if [ "$short" = true ]; then
				ret=$(printf '%s' "$out" | sed -n 's/.* ret=\([0-9-]*\).*/\1/p')
				size=$(printf '%s' "$out" | sed -n 's/.* size=\([0-9-]*\).*/\1/p')
				[ -n "$ret" ] && [ "$ret" -ge 1 ] && [ "$ret" -le 15 ] ||
					fail "$point/$call: not a short write: $out"
				[ "$size" -eq $((16 + ret)) ] ||
					fail "$point/$call: returned $ret but the file grew by $((size - 16))"
				tail -c "$ret" "$R/f" | tr -d x | grep -q . &&
					fail "$point/$call: the bytes written are not the prefix"
				want_result=$ret
			else
				case $call in
				posix_fallocate*) want="$call ret=5 errno=EIO" ;;
				close|closedir)   want="$call ret=-1 errno=EIO fd=open" ;;
				write|pwrite*|writev|pwritev*|copy_file_range|splice|sendfile*)
				                  want="$call ret=-1 errno=EIO size=16" ;;
				IORING_OP_FSYNC)  want="$call ret=-1 errno=EIO" ;;
				fwrite*)          want="$call ret=0 errno=EIO ferror=1" ;;
				*dprintf*)        want="$call ret=-1 errno=EIO" ;;
				fput*|putc*|puts|putchar*|*printf*|fflush*|fclose|fseek*|fsetpos*)
				                  want="$call ret=-1 errno=EIO ferror=1" ;;
				IORING_OP_*)      want="$call ret=-1 errno=EIO size=24" ;;
				*)                want="$call ret=-1 errno=EIO" ;;
				esac
				[ "$out" = "$want" ] || fail "$point/$call: the program saw '$out', want '$want'"
				want_result=-5
			fi
			f=$(faults "$n")
			[ "$(printf '%s\n' "$f" | grep -c .)" -eq 1 ] ||
				fail "$point/$call: expected one FAULT event, got: $f"
			set -- $f
			[ "$1" = "$inj" ] || fail "$point/$call: the FAULT event names '$1'"
			[ "$3" = "$want_result" ] || fail "$point/$call: FAULT result $3, want $want_result"
			case $call in
			open*|__open*|creat*|close|syncfs|fopen*|fdopen) ;;
			fwrite*|fput*|putc*|puts|putchar*|*printf*|fflush*|fclose|fseek*|fsetpos*) ;;
			mk*temp*) case $2 in t*) ;; *) fail "$point/$call: FAULT path '$2'" ;; esac ;;
			*) [ "$2" = f ] || [ "$2" = d ] || [ "$2" = s ] || [ "$2" = e ] ||
				fail "$point/$call: FAULT path '$2'" ;;
			esac
			# the call's own event follows, with what the program saw
			# (a failed open or close has none: no description changed)
			next=$(after_fault "$n")
			case $call in
			open*|__open*|creat*|close|closedir|fclose|fdopen|mk*temp*) case $next in open*|close*|mkdir*)
				fail "$point/$call: a failed $call was recorded as '$next'" ;; esac ;;
			*read*) ;;      # reads are not recorded: the FAULT event only
			# a stdio call that failed moved nothing to the file
			fwrite*|fput*|putc*|puts|putchar*|*printf*|fflush*|fseek*|fsetpos*) case $next in write*)
				fail "$point/$call: a failed $call was recorded as '$next'" ;; esac ;;
			fopen*) case $next in open*)
				fail "$point/$call: a failed $call was recorded as '$next'" ;; esac ;;
			copy_file_range|splice|sendfile*) case $next in write*)
				fail "$point/$call: a failed $call was recorded as '$next'" ;; esac ;;
			IORING_OP_*) [ "$next" = "uring-cqe -5" ] ||
				fail "$point/$call: after the FAULT event: '$next', want the CQE with -5" ;;
			*) [ "${next#* }" = "$want_result" ] ||
				fail "$point/$call: after the FAULT event: '$next', want result $want_result" ;;
			esac
		done
	done < "$W/points.json"
	echo "faults/points: $npoints points, $ncalls calls, each failed as listed"
	;;

fsync-eio)
	rec torn --fault 'fsync@wal.log#2=EIO' -- "$BIN/fault_prog" "$R" seq 3 || fail "record failed"
	expect_out torn "P write 12
P fsync 0
P write 12
P fsync -1 EIO
P write 12
P fsync 0"
	[ "$(faults torn)" = "posix/io/sync/fsync wal.log -5 -" ] || fail "torn form: $(faults torn)"
	[ "$(after_fault torn)" = "fsync -5" ] || fail "torn form: after FAULT: $(after_fault torn)"
	"$TORN" info "$W/torn.trace" | grep -q 'posix/io/sync/fsync on wal.log: EIO' ||
		fail "torn info does not list the fault"
	fresh
	rec fiu --fault 'enable name=posix/io/sync/fsync,failinfo=EIO,onetime' -- \
		"$BIN/fault_prog" "$R" seq 2 || fail "record failed"
	expect_out fiu "P write 12
P fsync -1 EIO
P write 12
P fsync 0"
	[ "$(faults fiu)" = "posix/io/sync/fsync wal.log -5 -" ] || fail "libfiu form: $(faults fiu)"
	[ "$(after_fault fiu)" = "fsync -5" ] || fail "libfiu form: after FAULT: $(after_fault fiu)"
	;;

write-enospc)
	rec t --fault 'write@wal.log#2=ENOSPC' -- "$BIN/fault_prog" "$R" seq 3 || fail "record failed"
	expect_out t "P write 12
P fsync 0
P write -1 ENOSPC
P fsync 0
P write 12
P fsync 0"
	[ "$(wc -c < "$R/wal.log")" -eq 24 ] || fail "the failed write reached the file"
	[ "$(faults t)" = "posix/io/rw/write wal.log -28 -" ] || fail "$(faults t)"
	events t | jq -e -s '[.[] | select(.kind == "write")] | .[1] | .result == -28 and
		(.hash == null) and .len == 12' > /dev/null ||
		fail "the failed write's event: $(events t | grep '"write"' | sed -n 2p)"
	;;

short)
	rec t --fault 'write@wal.log#2=short:5' -- "$BIN/fault_prog" "$R" seq 3 || fail "record failed"
	expect_out t "P write 12
P fsync 0
P write 5
P fsync 0
P write 12
P fsync 0"
	[ "$(wc -c < "$R/wal.log")" -eq 29 ] || fail "file size $(wc -c < "$R/wal.log"), want 29"
	[ "$(head -c 17 "$R/wal.log" | tail -c 5)" = hello ] || fail "the prefix is not on disk"
	[ "$(faults t)" = "posix/io/rw/write wal.log 5 short" ] || fail "$(faults t)"
	[ "$(after_fault t)" = "write 5" ] || fail "after FAULT: $(after_fault t)"
	# the rebuild from the trace has the prefix only
	"$BIN/trace-rebuild" "$W/t.trace" "$W/rebuilt" > /dev/null 2>&1 || fail "trace-rebuild failed"
	cmp -s "$W/rebuilt/wal.log" "$R/wal.log" || fail "the trace's rebuild differs from the file"
	fresh
	rec half --fault 'pwrite@wal.log=short' --fault 'write@wal.log=short' -- \
		"$BIN/fault_prog" "$R" seq 1 || fail "record failed"
	expect_out half "P write 6
P fsync 0"
	[ "$(wc -c < "$R/wal.log")" -eq 6 ] || fail "half: file size $(wc -c < "$R/wal.log")"
	;;

eintr)
	rec t --fault 'write@wal.log#1=EINTR' --fault 'fsync@wal.log#2=EINTR' -- \
		"$BIN/fault_prog" "$R" seq 2 || fail "record failed"
	expect_out t "P write -1 EINTR
P fsync 0
P write 12
P fsync -1 EINTR"
	fresh
	rec retry --fault 'write@data.log#1=EINTR' -- "$BIN/fsync-retry" "$R" fatal 3 ||
		fail "fsync-retry did not retry EINTR: $(cat "$W/retry.err")"
	expect_out retry "ack 1
ack 2
ack 3"
	[ "$(cat "$R/data.log")" = "rec 1
rec 2
rec 3" ] || fail "data.log after an EINTR retry"
	;;

random-seed)
	spec='enable_random name=posix/io/rw/write,probability=0.5,failinfo=EIO'
	for run in a b; do
		fresh
		rec $run --fault "$spec" --fault-seed 7 -- "$BIN/fault_prog" "$R" seq 20 ||
			fail "record failed"
		events $run | jq -c 'select(.kind == "fault") | [.seq, .point, .result]' > "$W/$run.f"
	done
	cmp -s "$W/a.f" "$W/b.f" || fail "seed 7 gave different faults in two runs"
	cmp -s "$W/a.out" "$W/b.out" || fail "seed 7 gave different program output in two runs"
	n=$(wc -l < "$W/a.f")
	[ "$n" -ge 3 ] && [ "$n" -le 17 ] || fail "probability 0.5 over 20 writes gave $n faults"
	fresh
	rec c --fault "$spec" --fault-seed 8 -- "$BIN/fault_prog" "$R" seq 20 || fail "record failed"
	events c | jq -c 'select(.kind == "fault") | [.seq, .point, .result]' > "$W/c.f"
	cmp -s "$W/a.f" "$W/c.f" && fail "seeds 7 and 8 gave the same faults"
	# without failinfo the errno is drawn from the point's list, by the seed
	for run in d e; do
		fresh
		rec $run --fault 'enable name=posix/io/rw/write' --fault-seed 3 -- \
			"$BIN/fault_prog" "$R" seq 6 || fail "record failed"
	done
	cmp -s "$W/d.out" "$W/e.out" || fail "drawn errnos differ between two runs of one seed"
	allowed=$("$TORN" faults --list --json | jq -r 'select(.point == "posix/io/rw/write") |
		.errnos[]')
	for e in $(awk '$2 == "write" { print $4 }' "$W/d.out"); do
		printf '%s\n' "$allowed" | grep -qx "$e" || fail "drawn errno $e is not in write's list"
	done
	;;

onetime)
	rec t --fault 'enable name=posix/io/sync/fdatasync,failinfo=EIO,onetime' \
		--fault 'enable name=posix/io/sync/fsync,failinfo=EIO,onetime' -- \
		"$BIN/fault_prog" "$R" seq 4 || fail "record failed"
	[ "$(grep -c 'fsync -1 EIO' "$W/t.out")" -eq 1 ] || fail "onetime failed $(grep -c EIO "$W/t.out") times"
	[ "$(faults t | wc -l)" -eq 1 ] || fail "$(faults t)"
	;;

fork)
	rec t --fault 'fsync@wal.log#3=EIO' -- "$BIN/fault_prog" "$R" fork || fail "record failed"
	expect_out t "P write 12
P fsync 0
P write 12
P fsync 0
C write 12
C fsync -1 EIO
C write 12
C fsync 0
P write 12
P fsync 0"
	child=$(events t | jq -r 'select(.kind == "fork") | .child')
	fpid=$(events t | jq -r 'select(.kind == "fault") | .pid')
	[ -n "$child" ] && [ "$fpid" = "$child" ] || fail "the FAULT event's pid $fpid is not the child's $child"
	fresh
	rec fiu --fault 'enable name=posix/io/sync/fsync,failinfo=EIO,onetime' -- \
		"$BIN/fault_prog" "$R" fork || fail "record failed"
	# fired in the parent before the fork: the child's copy has fired too
	[ "$(grep -c 'EIO' "$W/fiu.out")" -eq 1 ] && grep -q '^P fsync -1 EIO' "$W/fiu.out" ||
		fail "libfiu onetime across fork: $(cat "$W/fiu.out")"
	for run in r1 r2; do
		fresh
		rec $run --fault 'enable_random name=posix/io/rw/write,probability=0.5,failinfo=EIO' \
			--fault-seed 11 -- "$BIN/fault_prog" "$R" fork2 12 || fail "record failed"
	done
	cmp -s "$W/r1.out" "$W/r2.out" || fail "enable_random across forks differs between two runs"
	c1=$(awk '$1 == "C1" && $2 == "write" { printf "%s,", $3 }' "$W/r1.out")
	c2=$(awk '$1 == "C2" && $2 == "write" { printf "%s,", $3 }' "$W/r1.out")
	case $c1 in *-1*) ;; *) fail "no write of the first child failed: $c1" ;; esac
	[ "$c1" != "$c2" ] || fail "the two fork children drew the same faults: $c1"
	;;

exec)
	rec t --fault 'fsync@wal.log#2=EIO' -- "$BIN/fault_prog" "$R" exec || fail "record failed"
	expect_out t "P write 12
P fsync 0
X write 12
X fsync -1 EIO
X write 12
X fsync 0"
	fresh
	rec fiu --fault 'enable name=posix/io/sync/fsync,failinfo=EIO,onetime' -- \
		"$BIN/fault_prog" "$R" exec || fail "record failed"
	# the new image starts with libfiu's state afresh: its first fsync fails too
	expect_out fiu "P write 12
P fsync -1 EIO
X write 12
X fsync -1 EIO
X write 12
X fsync 0"
	[ "$(faults fiu | wc -l)" -eq 2 ] || fail "$(faults fiu)"
	;;

uring)
	rec w --fault 'uring/write@f=ENOSPC' -- "$BIN/fault_calls" "$R" IORING_OP_WRITE ||
		fail "record failed: $(cat "$W/w.err")"
	grep -q '^IORING_OP_WRITE ret=-1 errno=ENOSPC' "$W/w.out" || fail "write CQE: $(cat "$W/w.out")"
	[ "$(faults w)" = "torn/uring/write f -28 -" ] || fail "$(faults w)"
	[ "$(after_fault w)" = "uring-cqe -28" ] || fail "after FAULT: $(after_fault w)"
	fresh
	rec s --fault 'uring/fsync@f#1=EIO' -- "$BIN/fault_calls" "$R" IORING_OP_FSYNC ||
		fail "record failed: $(cat "$W/s.err")"
	[ "$(cat "$W/s.out")" = "IORING_OP_FSYNC ret=-1 errno=EIO" ] || fail "fsync CQE: $(cat "$W/s.out")"
	[ "$(after_fault s)" = "uring-cqe -5" ] || fail "after FAULT: $(after_fault s)"
	;;

bad-spec)
	for spec in 'fsync@wal.log#3=EIOX:unknown errno '"'"'EIOX'"'" \
		'fsink@wal.log=EIO:unknown call '"'"'fsink'"'" \
		'enable name=posix/io/sync/fsyncx:unknown failure point' \
		'fsync@wal.log#0=EIO:expected #N' \
		'fsync@wal.log=short:applies to the write calls'; do
		s=${spec%%:*}
		want=${spec#*:}
		"$TORN" record -q -o "$W/x.trace" --root "$R" --fault "$s" -- true 2> "$W/err"
		rc=$?
		[ $rc -eq 2 ] || fail "'$s': exit $rc, want 2"
		grep -qF -- "$want" "$W/err" || fail "'$s': message '$(cat "$W/err")' lacks '$want'"
		[ -e "$W/x.trace" ] && fail "'$s': a trace was written"
	done
	"$TORN" record -q -o "$W/x.trace" --root "$R" --fault-seed abc -- true 2> "$W/err"
	[ $? -eq 2 ] && grep -q "fault-seed: expected a non-negative integer, got 'abc'" "$W/err" ||
		fail "--fault-seed abc: $(cat "$W/err")"
	"$TORN" faults --check 'write@x=EIOX' > /dev/null 2> "$W/err"
	[ $? -eq 2 ] && grep -q "unknown errno 'EIOX'" "$W/err" || fail "faults --check: $(cat "$W/err")"
	[ "$("$TORN" faults --check 'fsync@wal.log#3=EIO')" = "posix/io/sync/fsync@wal.log#3=EIO" ] ||
		fail "faults --check does not print the canonical form"
	;;

no-fault)
	TORN_FAULTS='fsync@wal.log=EIO' TORN_FAULT_SEED=1 \
		"$TORN" record -q -o "$W/t.trace" --root "$R" -- "$BIN/fault_prog" "$R" seq 2 \
		> "$W/t.out" || fail "record failed"
	expect_out t "P write 12
P fsync 0
P write 12
P fsync 0"
	[ -z "$(faults t)" ] || fail "faults without --fault: $(faults t)"
	;;

fsync-retry)
	rec retry --fault 'fsync@data.log#2=EIO' -- "$BIN/fsync-retry" "$R" retry 4 ||
		fail "fsync-retry retry: exit $?: $(cat "$W/retry.err")"
	expect_out retry "ack 1
ack 2
ack 3
ack 4"
	[ "$(faults retry)" = "posix/io/sync/fsync data.log -5 -" ] || fail "$(faults retry)"
	[ "$(events retry | jq -r 'select(.kind == "mark") | .text' | tr '\n' ' ')" = \
		"ack 1 ack 2 ack 3 ack 4 " ] || fail "marks: $(events retry | jq -r 'select(.kind == "mark") | .text')"
	fresh
	rec fatal --fault 'fsync@data.log#2=EIO' -- "$BIN/fsync-retry" "$R" fatal 4
	rc=$?
	[ $rc -eq 1 ] || fail "fsync-retry fatal: exit $rc, want 1"
	expect_out fatal "ack 1"
	grep -q 'fsync failed: Input/output error: record 2 not acknowledged' "$W/fatal.err" ||
		fail "fatal: $(cat "$W/fatal.err")"
	# the checker, on the final directory of the fatal run: all it acked is there
	events fatal | jq -r 'select(.kind == "mark") | .text' > "$W/marks"
	TORN_MARKS=$W/marks TORN_STATE=$R sh "$TOOLS/fsync-retry-check.sh" ||
		fail "the checker refused the fatal run's final state"
	printf 'ack 1\nack 9\n' > "$W/marks9"
	TORN_MARKS=$W/marks9 TORN_STATE=$R sh "$TOOLS/fsync-retry-check.sh" 2> /dev/null &&
		fail "the checker accepted a missing acknowledged record"
	;;

*)
	fail "unknown case"
	;;
esac
exit 0
