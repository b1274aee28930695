#!/bin/sh
# tests/integration/record/record_test.sh CASE - integration tests of
# `torn record` (the recorder, the shim's event sink, marks).
#
# Environment (set by tests/integration/record.cmake):
#   TORN       the torn binary          TORN_SHIM  the shim library
#   WALK       trace_walk (prints a trace with the codec alone)
#   REC_MARKS  the test program (rec_marks.c)
#   REC_STATIC a statically linked program (never loads the shim)
#   WORK       a scratch directory for this test run
#   REC_PRELOAD_FIRST  sanitized build: the ASan runtime, preloaded before
#              the shim where a case preloads it without torn record
#
# Cases: snapshot usage marks sh-marks threads kill-program kill-recorder
#        recorder-gone no-shim order trace-media sqlite-marks
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

# expect_rc WANT CMD...: run CMD, check its exit status.
expect_rc() {
	want=$1
	shift
	"$@" >"$W/out" 2>"$W/err"
	rc=$?
	[ "$rc" -eq "$want" ] || { cat "$W/err" >&2; fail "'$*' exited $rc, expected $want"; }
}

# The events of a trace without pids (they change from run to run).
events() {
	"$WALK" "$1" >"$W/walk" || fail "trace_walk rejected $1"
	sed -e '/^blobs=/d' -e 's/ pid=[0-9]* tid=[0-9]*//' "$W/walk"
}

# Just the mark texts, in trace order.
marks() {
	events "$1" | sed -n 's/^[0-9]* mark .* text=//p'
}

# wait_mark TRACE: until TRACE holds a mark (the program runs and the
# consumer has written some of it), 10 s at most.
wait_mark() {
	t=0
	until "$WALK" "$1" 2>/dev/null | grep -q ' mark ' || [ $t -ge 200 ]; do
		sleep 0.05; t=$((t + 1))
	done
}

# "complete=1" or 0 from the walk's last line.
complete() {
	"$WALK" "$1" | tail -n 1 | sed 's/.*complete=\([01]\).*/\1/'
}

case $case_name in

snapshot)
	# A root with nested directories, a file over one chunk (64 KiB), two
	# files with the same content, an empty file and directory, a symlink.
	mkdir -p root/a/b/c root/empty
	head -c 150000 /dev/urandom >root/big
	head -c 70000 /dev/urandom >root/dup1
	cp root/dup1 root/a/b/dup2
	printf 'hello\n' >root/a/small
	: >root/a/b/c/zero
	ln -s ../big root/a/link
	chmod 600 root/a/small
	expect_rc 0 "$TORN" record -q -o t.trace --root root -- true
	events t.trace | sed 's/ text=.*//' >got
	cat >want <<EOF
1 root path= path2=$(cd root && pwd -P) len=0 result=0 mode=40755 nchunks=0 flags=0 off=0
2 init-dir path=a len=0 result=0 mode=40755 nchunks=0 flags=0 off=0
3 init-dir path=a/b len=0 result=0 mode=40755 nchunks=0 flags=0 off=0
4 init-dir path=a/b/c len=0 result=0 mode=40755 nchunks=0 flags=0 off=0
5 init-file path=a/b/c/zero len=0 result=0 mode=100644 nchunks=0 flags=0 off=0
6 init-file path=a/b/dup2 len=70000 result=0 mode=100644 nchunks=2 flags=0 off=0
7 init-symlink path=a/link path2=../big len=0 result=0 mode=120777 nchunks=0 flags=0 off=0
8 init-file path=a/small len=6 result=0 mode=100600 nchunks=1 flags=0 off=0
9 init-file path=big len=150000 result=0 mode=100644 nchunks=3 flags=0 off=0
10 init-file path=dup1 len=70000 result=0 mode=100644 nchunks=2 flags=0 off=0
11 init-dir path=empty len=0 result=0 mode=40755 nchunks=0 flags=0 off=0
12 init-done path= len=0 result=0 mode=0 nchunks=0 flags=0 off=0
13 end path= len=0 result=0 mode=0 nchunks=0 flags=0 off=0
EOF
	# umask may differ: compare modes only where the test set them
	diff want got >&2 || fail "snapshot events differ (want, got above)"
	# 3 chunks of big + 2 of the duplicated content (stored once) + 1 of small
	"$WALK" t.trace | tail -n 1 | grep -q '^blobs=6 .* complete=1 tail=0$' ||
		fail "expected 6 blobs in a complete trace: $("$WALK" t.trace | tail -n 1)"
	for f in big dup1 a/b/dup2 a/small a/b/c/zero; do
		"$WALK" t.trace "$f" | cmp -s - "root/$f" || fail "content of $f differs in the trace"
	done
	# The ROOT event names the command line.
	events t.trace | head -n 1 | grep -q ' text=true$' || fail "ROOT text is not the command line"
	;;

usage)
	mkdir root
	expect_rc 2 "$TORN" record -o t.trace --root missing -- true
	grep -q 'missing' err || fail "no message naming the missing root"
	expect_rc 2 "$TORN" record -o t.trace --root root
	expect_rc 2 "$TORN" record --root root -- true
	expect_rc 2 "$TORN" record -o root/t.trace --root root -- true
	grep -q 'inside the recorded root' err || fail "no message about the trace inside the root"
	mkdir -p root/sub
	expect_rc 2 "$TORN" record -o root/sub/../t.trace --root root/sub/.. -- true
	echo keep >root/data
	ln -s root/data link.trace
	expect_rc 2 "$TORN" record -o link.trace --root root -- true
	[ "$(cat root/data)" = keep ] || fail "a trace linked into the root overwrote the root's file"
	expect_rc 2 "$TORN" record -o t.trace --root root --ring-mib 0 -- true
	expect_rc 2 "$TORN" record -o t.trace --root root --bogus -- true
	expect_rc 0 "$TORN" record --help
	grep -q -- '--marks-from-stdout' out || fail "usage does not list --marks-from-stdout"
	expect_rc 3 "$TORN" record -o t.trace --root root --shim "$W/no-such-shim.so" -- true
	# A trace written down a pipe.
	{ "$TORN" record -q -o /dev/stdout --root root -- sh -c 'echo ack >&$TORN_MARK_FD'; echo $? >rc; } |
		cat >piped.trace
	[ "$(cat rc)" = 0 ] || fail "recording into a pipe exited $(cat rc)"
	marks piped.trace | grep -qx ack || fail "the trace sent down a pipe lacks its mark"
	[ "$(complete piped.trace)" = 1 ] || fail "the trace sent down a pipe is not complete"
	# A trace that cannot be written: exit 3, and the device is left alone.
	if [ -c /dev/full ]; then
		expect_rc 3 "$TORN" record -o /dev/full --root root -- true
		grep -q 'No space left' err || fail "no message for a full device"
		[ -c /dev/full ] || fail "/dev/full was removed"
	fi
	# An unreadable file in the root: exit 2 naming it, and no stub trace.
	if [ "$(id -u)" -ne 0 ]; then
		echo secret >root/locked
		chmod 000 root/locked
		expect_rc 2 "$TORN" record -o t2.trace --root root -- true
		grep -q 'root/locked' err || fail "no message naming the unreadable file"
		[ ! -e t2.trace ] || fail "a stub trace was left after a failed snapshot"
		rm -f root/locked
	fi
	mkfifo root/fifo
	expect_rc 0 "$TORN" record -q -o t2.trace --root root -- true
	grep -q 'root/fifo: not a file' err || fail "no warning for a FIFO left out of the snapshot"
	rm -f root/fifo
	# The program's status is torn's: exit code, signal, not found.
	expect_rc 7 "$TORN" record -q -o t.trace --root root -- sh -c 'exit 7'
	[ "$(complete t.trace)" = 1 ] || fail "trace of 'exit 7' is not complete"
	events t.trace | tail -n 1 | grep -q '^[0-9]* end .* result=1792 ' ||
		fail "END does not carry the wait status of exit 7"
	expect_rc 143 "$TORN" record -q -o t.trace --root root -- sh -c 'kill -TERM $$'
	expect_rc 127 "$TORN" record -q -o t.trace --root root -- "$W/no-such-program"
	grep -q 'no-such-program' err || fail "no message naming the program that cannot run"
	# A program that never loads the shim is reported, not silently empty.
	expect_rc 0 "$TORN" record -q -o t.trace --root root -- "$REC_STATIC"
	grep -q 'never loaded the shim' err || fail "no warning for a static program"
	expect_rc 0 "$TORN" record -q -o t.trace --root root -- true
	grep -q 'never loaded' err && fail "warning for a program that loaded the shim"
	# The command line in ROOT reads back in sh to the same arguments.
	expect_rc 0 "$TORN" record -q -o t.trace --root root -- sh -c 'exit 0' "it's" 'a b' ''
	text=$(events t.trace | head -n 1 | sed 's/.* text=//')
	eval "set -- $text"
	[ $# -eq 6 ] && [ "$4" = "it's" ] && [ "$5" = 'a b' ] && [ -z "$6" ] ||
		fail "the command line in ROOT does not read back: $text"
	# Options after the command are the command's own.
	expect_rc 0 "$TORN" record -q -o t.trace --root root -- sh -c 'test "$1" = -q' sh -q
	;;

marks)
	mkdir root
	# torn_mark (cut at its newline), the mark descriptor and stdout lines,
	# in the order the program made them: torn_mark drains the pipes first.
	expect_rc 0 "$TORN" record -q --marks-from-stdout -o t.trace --root root -- "$REC_MARKS" mix 3
	marks t.trace >got
	printf 'api %d\nfd %d\nout %d\n' 0 0 0 1 1 1 2 2 2 >want
	diff want got >&2 || fail "marks differ (want, got above)"
	printf 'out %d\n' 0 1 2 >want_out
	diff want_out out >&2 || fail "stdout was not passed through"
	# Without --marks-from-stdout, stdout is only stdout.
	expect_rc 0 "$TORN" record -q -o t.trace --root root -- "$REC_MARKS" mix 2
	marks t.trace >got
	printf 'api %d\nfd %d\n' 0 0 1 1 >want
	diff want got >&2 || fail "marks without --marks-from-stdout differ"
	diff out - <<EOF >&2 || fail "stdout differs without --marks-from-stdout"
out 0
out 1
EOF
	# A program printing a lot never blocks on the pipe (the recorder drains it).
	expect_rc 0 "$TORN" record -q --marks-from-stdout -o t.trace --root root -- \
		sh -c 'i=0; while [ $i -lt 3000 ]; do echo "line $i with some padding to fill the pipe"; i=$((i+1)); done'
	[ "$(marks t.trace | wc -l)" -eq 3000 ] || fail "expected 3000 stdout marks"
	[ "$(wc -l <out)" -eq 3000 ] || fail "expected 3000 lines passed through"
	;;

sh-marks)
	mkdir root
	# A shell script: its echo is a builtin writing with write(2) to the
	# pipe; a nested sh (fork + exec) marks too; a last line without its
	# newline still counts.
	cat >script.sh <<'EOF'
echo ack 1 >&$TORN_MARK_FD
sh -c 'echo ack 2 >&$TORN_MARK_FD'
( echo ack 3 >&$TORN_MARK_FD )
env -u TORN_MARK_FD sh -c 'echo no-var-$TORN_MARK_FD' >/dev/null
echo ack 4 >&$TORN_MARK_FD
"$REC_MARKS" mix 1 >/dev/null
env -i "$REC_MARKS" mix 1 >/dev/null
printf 'ack 5' >&$TORN_MARK_FD
EOF
	expect_rc 0 "$TORN" record -q -o t.trace --root root -- /bin/sh script.sh
	marks t.trace >got
	# the C program exec'd by the shell marks through the shim, and still
	# does when started with an empty environment (the shim puts back what
	# recording needs)
	printf 'ack 1\nack 2\nack 3\nack 4\napi 0\nfd 0\napi 0\nfd 0\nack 5\n' >want
	diff want got >&2 || fail "shell marks differ (want, got above)"
	;;

marks-file)
	mkdir root
	# $TORN_MARK_FD is a memory file read through a mapping (shm.h, section
	# 5): a line written by a program the shim is not in (static) still
	# comes before the next event; 3 MB of lines (several windows of the
	# file) with no event between them all come before the next one, in
	# order; a last line without its newline is taken at the end; opening
	# the descriptor anew fails loudly instead of losing the line.
	cat >script.sh <<'EOF'
echo x >root/a
"$REC_STATIC" mark
echo y >>root/a
yes 'a long mark line of text' | head -c 3000000 >&$TORN_MARK_FD
echo z >>root/a
printf 'tail' >&$TORN_MARK_FD
EOF
	expect_rc 0 "$TORN" record -q -o t.trace --root root -- env REC_STATIC="$REC_STATIC" sh script.sh
	events t.trace | awk '
		$2 == "write" { print "write" }
		$2 == "mark" { sub(/.* text=/, ""); if ($0 == prev) next; prev = $0; print "mark " $0 }' >got
	printf 'write\nmark static mark\nwrite\nmark a long mark line of text\nwrite\nmark tail\n' >want
	diff want got >&2 || fail "marks out of order with the writes (want, got above)"
	[ "$(marks t.trace | grep -c 'a long mark line of text')" -eq 120000 ] ||
		fail "expected 120000 lines of the 3 MB burst"
	expect_rc 2 "$TORN" record -q -o t2.trace --root root -- sh -c 'echo x >/dev/fd/$TORN_MARK_FD'
	grep -q 'not permitted' err || { cat err >&2; fail "reopening the marks file: no EPERM"; }
	;;

threads)
	mkdir root
	# 2 processes x 4 threads x 2000 marks of ~300 bytes (about 5 MB)
	# through a 1 MiB ring: producers wait for room many times.
	export REC_MARKS_LONG=1
	expect_rc 0 "$TORN" record -q --ring-mib 1 -o t.trace --root root -- \
		"$REC_MARKS" threads 2 4 2000
	# trace_walk already checked that seqs strictly increase.
	events t.trace | grep ' mark ' | sed 's/.* text=//' | awk '
		{ k = $1; i = $2
		  if ((k in last) && i != last[k] + 1) { print "thread " k ": mark " i " after " last[k]; bad = 1 }
		  if (!(k in last) && i != 0) { print "thread " k ": first mark " i; bad = 1 }
		  last[k] = i; n[k]++; total++ }
		END { for (k in n) if (n[k] != 2000) { print "thread " k ": " n[k] " marks"; bad = 1 }
		      if (total != 16000) { print "total " total; bad = 1 }
		      exit bad }' >&2 || fail "marks lost, repeated or out of order"
	[ "$(complete t.trace)" = 1 ] || fail "trace not complete"
	;;

kill-program)
	mkdir root
	# The program kills itself: torn reports 128+9, the trace has every mark
	# made before and an END with the wait status.
	expect_rc 137 "$TORN" record -q -o t.trace --root root -- "$REC_MARKS" kill 500
	[ "$(marks t.trace | wc -l)" -eq 500 ] || fail "expected 500 marks before the kill"
	marks t.trace | tail -n 1 | grep -qx 'k 499' || fail "last mark is not k 499"
	events t.trace | tail -n 1 | grep -q '^[0-9]* end .* result=9 ' || fail "END does not say SIGKILL"
	# SIGTERM to torn (timeout(1), a CI runner) goes on to the program, and
	# torn still ends the trace.
	"$TORN" record -q -o term.trace --root root -- "$REC_MARKS" slow 2000 5 &
	torn_pid=$!
	wait_mark term.trace
	kill -TERM $torn_pid
	wait $torn_pid
	rc=$?
	[ $rc -eq 143 ] || fail "torn exited $rc after SIGTERM, expected 143"
	[ "$(complete term.trace)" = 1 ] || fail "trace not complete after SIGTERM"
	events term.trace | tail -n 1 | grep -q '^[0-9]* end .* result=15 ' ||
		fail "END does not say SIGTERM"
	;;

kill-recorder)
	mkdir root
	# torn itself killed mid-run: the trace stops at a whole record, without
	# END, and the marks in it are a prefix of what the program made.
	REC_PIDFILE=$W/prog.pid "$TORN" record -q -o t.trace --root root -- "$REC_MARKS" slow 400 2 &
	torn_pid=$!
	wait_mark t.trace
	prog=$(cat prog.pid)
	kill -KILL $torn_pid
	wait $torn_pid 2>/dev/null
	"$WALK" t.trace >walk || fail "trace of a killed recorder is not readable"
	[ "$(complete t.trace)" = 0 ] || fail "trace of a killed recorder ends with END"
	"$TORN" info t.trace >info || fail "torn info rejects the trace of a killed recorder"
	grep -q truncated info || fail "torn info does not say the trace is truncated"
	n=$(marks t.trace | wc -l)
	[ "$n" -ge 1 ] || fail "no marks made before the kill reached the trace"
	i=0
	marks t.trace | while read -r s k; do
		[ "$s $k" = "s $i" ] || { echo "mark $i is '$s $k'" >&2; exit 1; }
		i=$((i + 1))
	done || fail "the marks are not a prefix of the program's"
	# The program goes on without the recorder and ends by itself.
	t=0
	while kill -0 "$prog" 2>/dev/null && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
	kill -0 "$prog" 2>/dev/null && { kill -KILL "$prog"; fail "the program hung after the recorder died"; }
	# Nothing left behind in /dev/shm (the control file is unlinked at once).
	ls /dev/shm 2>/dev/null | grep -q "torn-ctl" && echo "note: torn-ctl files in /dev/shm (other runs?)" >&2
	;;

recorder-gone)
	mkdir root
	# A ring that fills while the recorder is gone: the program must notice
	# (the recorder's pid is dead) and run on unrecorded, not hang.
	export REC_MARKS_LONG=1 REC_PIDFILE=$W/prog.pid
	"$TORN" record -q --ring-mib 1 -o t.trace --root root -- \
		sh -c 'kill -STOP $PPID; exec "$0" threads 1 4 5000' "$REC_MARKS" &
	torn_pid=$!
	t=0
	until grep -q '^State:.*stopped' /proc/$torn_pid/status 2>/dev/null && [ -s prog.pid ] ||
		[ $t -ge 200 ]; do
		sleep 0.05; t=$((t + 1))
	done
	prog=$(cat prog.pid 2>/dev/null)
	[ -n "$prog" ] || { kill -KILL $torn_pid; fail "could not find the program"; }
	sleep 0.3          # the ring fills while the recorder is stopped
	kill -KILL $torn_pid
	wait $torn_pid 2>/dev/null
	t=0
	while kill -0 "$prog" 2>/dev/null && [ $t -lt 150 ]; do sleep 0.1; t=$((t + 1)); done
	kill -0 "$prog" 2>/dev/null && { kill -KILL "$prog"; fail "the program hung on a full ring"; }
	"$WALK" t.trace >/dev/null || fail "trace not readable"
	# The same with a recorder left a zombie: its parent (here a sleep, in
	# real life a shell reading output the program still holds) does not
	# reap it, so kill(pid, 0) still succeeds.
	rm -f prog.pid torn.pid
	sh -c '"$0" record -q --ring-mib 1 -o t2.trace --root root -- \
		sh -c "kill -STOP \$PPID; exec \"\$0\" threads 1 4 5000" "$1" &
		echo $! >torn.pid; exec sleep 60' "$TORN" "$REC_MARKS" &
	holder=$!
	t=0
	until [ -s torn.pid ] && grep -q '^State:.*stopped' /proc/$(cat torn.pid)/status 2>/dev/null &&
		[ -s prog.pid ] || [ $t -ge 200 ]; do
		sleep 0.05; t=$((t + 1))
	done
	torn_pid=$(cat torn.pid)
	prog=$(cat prog.pid 2>/dev/null)
	[ -n "$prog" ] || { kill -KILL $torn_pid $holder; fail "could not find the program (zombie case)"; }
	sleep 0.3
	kill -KILL $torn_pid
	t=0
	while kill -0 "$prog" 2>/dev/null && [ $t -lt 150 ]; do sleep 0.1; t=$((t + 1)); done
	hung=0
	kill -0 "$prog" 2>/dev/null && { hung=1; kill -KILL "$prog"; }
	kill $holder 2>/dev/null
	wait $holder 2>/dev/null
	[ $hung -eq 0 ] || fail "the program hung on a full ring while the recorder was a zombie"
	;;

no-shim)
	# Without the shim, torn_mark does nothing and the program runs as usual.
	expect_rc 0 env -u TORN_SHM "$REC_MARKS" mix 2
	diff out - <<EOF >&2 || fail "the program's output differs without the shim"
out 0
out 1
EOF
	# With the shim preloaded but no recorder (no TORN_SHM): the same.
	expect_rc 0 env -u TORN_SHM LD_PRELOAD="${REC_PRELOAD_FIRST:+$REC_PRELOAD_FIRST:}$TORN_SHIM" "$REC_MARKS" mix 2
	diff out - <<EOF >&2 || fail "the program's output differs with an idle shim"
out 0
out 1
EOF
	;;

order)
	# Marks land between the I/O events around them (needs the wrappers).
	mkdir root
	expect_rc 0 "$TORN" record -q --marks-from-stdout -o t.trace --root root -- \
		"$REC_MARKS" files root 3
	events t.trace | awk '
		$2 == "write" || $2 == "fsync" { print $2 }
		$2 == "mark" { sub(/.* text=/, ""); print "mark " $0 }' >got
	cat >want <<'EOF'
write
mark fd 0
mark out 0
mark api 0
fsync
write
mark fd 1
mark out 1
mark api 1
fsync
write
mark fd 2
mark out 2
mark api 2
fsync
EOF
	diff want got >&2 || fail "marks are not between the writes around them (want, got above)"
	;;

trace-media)
	# The recorder writes a trace on a disk with O_DIRECT (whole blocks from
	# an aligned buffer, the partial last block through the page cache and
	# again once whole) and one on tmpfs through the page cache
	# (injector/record.c, the writer): the same recording must give the same
	# trace, byte for byte but for the header's time and the pids.  The
	# workload writes ~6 MiB in pieces of odd sizes (records cross every
	# block boundary), then trickles marks 30 ms apart, so the recorder
	# flushes partial blocks between them.
	SHMDIR=/dev/shm
	[ -d "$SHMDIR" ] && [ -w "$SHMDIR" ] || SHMDIR=${TMPDIR:-/tmp}
	head -c 6500000 /dev/urandom >src
	prog='i=0; while [ $i -lt 40 ]; do
		dd if="$1" of=root/f bs=4096 skip=$((i * 39)) seek=$((i * 39)) count=39 conv=notrunc status=none
		i=$((i + 1)); done
		dd if="$1" of=root/g bs=1000 count=1 status=none
		for m in 1 2 3 4 5; do echo "ack $m" >&$TORN_MARK_FD; sleep 0.03; echo x >>root/g; done'
	for where in disk mem; do
		rm -rf root && mkdir root
		t=$W/$where.trace
		[ $where = mem ] && t=$SHMDIR/torn-trace-media-$$.trace
		expect_rc 0 "$TORN" record -q -o "$t" --root root -- sh -c "$prog" sh "$W/src"
		events "$t" >$where.events
		# every event with its payload's hash, without the pids
		"$TORN" dump "$t" | awk '{ $2 = ""; print }' >$where.dump
		"$WALK" "$t" | tail -n 1 >$where.last
		[ $where = mem ] && rm -f "$t"
	done
	diff disk.events mem.events >&2 || fail "the traces on disk and in memory differ (events above)"
	diff disk.dump mem.dump >&2 || fail "torn dump of the traces on disk and in memory differs (above)"
	[ "$(grep -c ' write .* hash=' disk.dump)" -ge 45 ] || fail "expected 45 writes with a payload"
	grep -q 'complete=1 tail=0$' disk.last || fail "the trace on disk is not complete: $(cat disk.last)"
	[ "$(marks disk.trace | tr '\n' ' ')" = "ack 1 ack 2 ack 3 ack 4 ack 5 " ] ||
		fail "marks of the trace on disk: $(marks disk.trace | tr '\n' ' ')"
	[ "$(wc -c <disk.trace)" -gt 6000000 ] || fail "the trace on disk is too short: $(wc -c <disk.trace) bytes"
	;;

sqlite-marks)
	# The design's example: sqlite3 acknowledging with SELECT 'ack N' under
	# --marks-from-stdout.  Each ack is printed after its transaction
	# committed (the rollback journal deleted), and before the next begins.
	mkdir db
	cat >in.sql <<'EOF'
CREATE TABLE t(k, v);
INSERT INTO t VALUES(1, 'a');
SELECT 'ack 1';
INSERT INTO t VALUES(2, 'b');
SELECT 'ack 2';
EOF
	expect_rc 0 "$TORN" record -q --marks-from-stdout -o t.trace --root db -- sqlite3 db/x.db <in.sql
	printf 'ack 1\nack 2\n' | diff - out >&2 || fail "sqlite3's output was not passed through"
	events t.trace | awk '
		$2 == "mark" { print prev " -> " $0 }
		$2 != "blob" { prev = $2 " " $3 }' | sed 's/ -> [0-9]* mark .* text=/ -> /' >got
	cat >want <<'EOF'
unlink path=x.db-journal -> ack 1
unlink path=x.db-journal -> ack 2
EOF
	diff want got >&2 || fail "the acks are not right after their commits (want, got above)"
	;;

*)
	fail "unknown case"
	;;
esac
exit 0
