#!/bin/sh
# tests/integration/shim/shim_test.sh CASE - integration tests of the
# shim's wrappers.
#
# Environment (set by tests/integration/shim.cmake):
#   TORN  the torn binary     BIN  the test programs     WORK  scratch space
#
# Cases:
#   calls-ext4   shim_calls with its root on ext4 (/tmp): every interposed
#                call buffered, O_DIRECT, O_DSYNC and with pwritev2 flags
#   calls-tmpfs  the same on tmpfs (/dev/shm)
#   threads      8 threads x 1000 writes to one file
#   stdio-threads 8 threads x 1000 fprintf to one shared stream
#   signals      writes from a SIGALRM handler (every 200 us) while the main
#                loop writes: no deadlock, each write recorded once
#   signal-race  a SIGUSR1 handler installed and removed every 100 us while
#                4 threads write and are sent SIGUSR1: no deadlock, every
#                write (the handler's too) recorded once
#   exec         exec (execve with NULL envp, execl, execvp after
#                clearenv) and posix_spawn without LD_PRELOAD
#   vfork        a vfork child redirects its stdout into the root and execs:
#                the parent's own stdout must not be taken for the child's file
#   own-fds      a program that closes every descriptor from 3 (closefrom,
#                close_range, close and dup2 onto the shim's): recording
#                and marks go on
#   stdout       a program's stdout redirected into the root: printf, puts,
#                putchar and putw (flushed inside libc); all bytes synced by
#                fsync(1) are recorded before the fsync
#   sh-pipeline  a shell script (fork/vfork, redirections, mv, rm, mkdir)
#   sqlite       the sqlite3 CLI, a small transaction workload
# Each recorded case checks, as applies: the trace event by event against
# the program's own account (shim_check events), the program's printed
# results against a native run, the final directory against a native run,
# and the trace's rebuild against the final directory, byte for byte.
# Exit 0 pass, 1 fail (the reason on stderr), 77 when a kernel feature is
# missing.
set -u
umask 022

case_name=$1
W=$WORK/$case_name
rm -rf "$W"
mkdir -p "$W"
cd "$W" || exit 1
SCRATCH=
cleanup() { [ -n "$SCRATCH" ] && rm -rf "$SCRATCH"; }
trap cleanup EXIT

fail() {
	echo "FAIL [$case_name]: $*" >&2
	exit 1
}

# record ROOT CMD...: torn record into $W/run.trace.
record() {
	root=$1
	shift
	"$TORN" record -o "$W/run.trace" --root "$root" -- "$@" >"$W/rec.out" 2>"$W/rec.err" ||
		{ cat "$W/rec.err" >&2; fail "torn record exited $?"; }
}

# same_tree A B: identical files, names, symlink targets.
same_tree() {
	diff -r --no-dereference "$1" "$2" >"$W/diff" 2>&1 || { cat "$W/diff" >&2; fail "$3"; }
}

# rebuilt ROOT: the trace's rebuild equals ROOT.
rebuilt() {
	rm -rf "$W/rebuilt"
	"$BIN/shim_check" rebuild "$W/run.trace" "$W/rebuilt" || fail "rebuild failed"
	same_tree "$W/rebuilt" "$1" "the trace's rebuild differs from the real directory"
}

# events EXPFILE: the trace's events are the ones the program listed.
events() {
	"$BIN/shim_check" events "$W/run.trace" "$1" >"$W/check.out" 2>"$W/check.err" || {
		cat "$W/check.err" >&2
		"$BIN/shim_check" dump "$W/run.trace" >"$W/trace.txt" 2>&1
		fail "trace does not match $1 (rendered trace: $W/trace.txt)"
	}
	cat "$W/check.out"
}

# calls BASE: shim_calls natively and recorded in two fresh roots under BASE.
calls() {
	SCRATCH=$(mktemp -d "$1/torn-shim-test.XXXXXX") || exit 77
	S=$SCRATCH
	mkdir -p "$S/native/root" "$S/native/out" "$S/rec/root" "$S/rec/out"
	"$BIN/shim_calls" "$S/native/root" "$S/native/out" "$W/native.exp" >"$W/native.txt" 2>&1 ||
		{ cat "$W/native.txt" >&2; fail "native run of shim_calls failed"; }
	record "$S/rec/root" "$BIN/shim_calls" "$S/rec/root" "$S/rec/out" "$W/rec.exp"
	cp "$W/rec.out" "$W/recorded.txt"
	cmp -s "$W/native.txt" "$W/recorded.txt" || {
		diff "$W/native.txt" "$W/recorded.txt" >&2
		fail "results (return values, errno) differ between the native and the recorded run"
	}
	echo "$(wc -l <"$W/recorded.txt") call results identical to the native run"
	same_tree "$S/native/root" "$S/rec/root" "final files differ from the native run"
	events "$W/rec.exp"
	rebuilt "$S/rec/root"
}

case $case_name in

calls-ext4)
	# /tmp is where an O_DIRECT run meets a real block device's alignment.
	calls "${TMPDIR:-/tmp}"
	;;

calls-tmpfs)
	[ -d /dev/shm ] && [ -w /dev/shm ] || exit 77
	# tmpfs takes O_DIRECT only on recent kernels.
	probe=/dev/shm/torn-shim-probe.$$
	if ! python3 -c "import os,sys; os.close(os.open(sys.argv[1], os.O_CREAT|os.O_RDWR|os.O_DIRECT, 0o644))" \
		"$probe" 2>/dev/null; then
		rm -f "$probe"
		echo "tmpfs refuses O_DIRECT on this kernel" >&2
		exit 77
	fi
	rm -f "$probe"
	calls /dev/shm
	;;

threads)
	mkdir root
	record root "$BIN/shim_threads" root 8 1000
	"$BIN/shim_check" threads "$W/run.trace" 8 1000 || fail "thread writes"
	rebuilt root
	;;

stdio-threads)
	mkdir root
	record root "$BIN/shim_threads" root 8 1000 stdio
	[ "$(wc -l <root/stdio.dat)" -eq 8000 ] || fail "the program did not write 8000 lines"
	rebuilt root
	echo "8000 lines from 8 threads through one stream: rebuild equal"
	;;

signals)
	mkdir root
	record root "$BIN/shim_signal" root 20000
	m=$(sed -n 's/^main //p' "$W/rec.err")
	k=$(sed -n 's/^signal //p' "$W/rec.err")
	[ -n "$m" ] && [ -n "$k" ] || fail "the program did not report its counts"
	[ "$k" -gt 0 ] || fail "the signal handler never ran"
	"$BIN/shim_check" count "$W/run.trace" main.dat "$m" || fail "main loop writes"
	"$BIN/shim_check" count "$W/run.trace" sig.dat "$k" || fail "signal handler writes"
	rebuilt root
	;;

signal-race)
	mkdir root
	record root "$BIN/shim_sigrace" root
	k=$(sed -n 's/^signal //p' "$W/rec.err")
	[ -n "$k" ] || fail "the program did not report its count"
	[ "$k" -gt 0 ] || fail "the signal handler never ran"
	for i in 0 1 2 3; do
		"$BIN/shim_check" count "$W/run.trace" w$i.dat 20000 || fail "writer $i's writes"
	done
	"$BIN/shim_check" count "$W/run.trace" sig.dat "$k" || fail "signal handler writes"
	rebuilt root
	;;

exec)
	mkdir root native
	"$BIN/shim_exec" native "$W/native.exp" || fail "native run of shim_exec failed"
	record root "$BIN/shim_exec" root "$W/rec.exp"
	# The expectation lines name the root as given: "root".
	events "$W/rec.exp"
	same_tree native root "final files differ from the native run"
	[ -f root/free/e-spawn.dat ] || fail "the spawned program did not run"
	rebuilt root
	;;

vfork)
	mkdir root
	record root "$BIN/shim_vfork" root
	grep -q 'parent output' "$W/rec.out" || fail "the parent's output went missing"
	[ "$(cat root/child.out)" = "from the child" ] || fail "the child's output is wrong"
	rebuilt root
	;;

own-fds)
	mkdir root
	record root "$BIN/shim_ownfd" root
	! grep -q 'not under the shim' "$W/rec.out" || fail "the shim's descriptors are not there"
	"$TORN" dump "$W/run.trace" >"$W/dump.txt" || fail "torn dump"
	grep -q 'mark .*before' "$W/dump.txt" || fail "the mark written before closefrom is missing"
	grep -q 'mark .*after 1' "$W/dump.txt" || fail "torn_mark after closefrom is missing"
	grep -q 'write .*b\.dat' "$W/dump.txt" || fail "the write after closefrom is missing"
	# Marks in order with the I/O: before < a.dat's close ... after < b.dat.
	order=$(sed -n 's/.* \(mark\) .*\(before\|after 1\).*/\2/p; s/.* open .*h[0-9]*=\([ab]\.dat\).*/\1/p' \
		"$W/dump.txt" | tr '\n' ' ')
	[ "$order" = "a.dat before after 1 b.dat " ] || fail "marks out of order: $order"
	rebuilt root
	echo "closefrom/close_range/close/dup2 left the shim's descriptors; order: $order"
	;;

stdout)
	mkdir root
	record root sh -c '"$1" >root/out.txt' sh "$BIN/shim_stdout"
	n=$(sed -n 's/^synced \([0-9]*\)$/\1/p' "$W/rec.err")
	[ -n "$n" ] && [ "$n" -gt 20000 ] || fail "the program did not report what it synced ($n)"
	"$BIN/shim_check" covered "$W/run.trace" out.txt "$n" || fail "synced bytes not recorded in time"
	rebuilt root
	"$BIN/shim_stdout" >native.txt 2>/dev/null
	cmp -s native.txt root/out.txt || fail "the recorded program's output differs from a native run"
	;;

sh-pipeline)
	mkdir root
	cat >script.sh <<'SH'
set -e
cd "$1"
mkdir -p a/b
echo first >a/f
echo second >>a/f
printf 'x%.0s' $(seq 1 5000) >a/b/big
cp a/f a/b/copy
mv a/f a/g
ln -s g a/link
ln a/g a/hard
rm a/hard
( cd a/b && cat copy copy >twice )
sort a/b/twice | uniq >a/sorted
: >a/empty
rmdir a/b 2>/dev/null || true
sync
SH
	record root sh script.sh root
	rebuilt root
	"$TORN" dump "$W/run.trace" >"$W/dump.txt" || fail "torn dump"
	for f in a/g a/b/big a/sorted a/b/twice; do
		grep -q " $f\| h[0-9]*=$f \|->$f" "$W/dump.txt" || fail "no event for $f"
	done
	echo "shell script: rebuild equal, $(grep -c ' write ' "$W/dump.txt") writes"
	;;

sqlite)
	command -v sqlite3 >/dev/null || fail "sqlite3 is missing (scripts/deps.sh installs it)"
	mkdir root
	cat >work.sql <<'SQL'
PRAGMA journal_mode=DELETE;
CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT);
BEGIN; INSERT INTO kv VALUES(1,'one'); INSERT INTO kv VALUES(2,'two'); COMMIT;
BEGIN; UPDATE kv SET v='uno' WHERE k=1; DELETE FROM kv WHERE k=2; COMMIT;
PRAGMA journal_mode=WAL;
BEGIN; INSERT INTO kv SELECT value, hex(randomblob(200)) FROM generate_series(10, 400); COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
	record root sh -c 'sqlite3 root/db <work.sql'
	"$TORN" info "$W/run.trace" >"$W/info.txt" || fail "torn info"
	# WAL mode maps the -shm index: recorded as unsupported, never missed.
	grep -qi "mmap\|unsupported" "$W/info.txt" || fail "the -shm mapping is not reported"
	rm -f root/db-shm
	rm -rf "$W/rebuilt"
	"$BIN/shim_check" rebuild "$W/run.trace" "$W/rebuilt" || fail "rebuild failed"
	rm -f "$W/rebuilt/db-shm"
	same_tree "$W/rebuilt" root "sqlite's files differ from the trace's rebuild"
	[ "$(sqlite3 "$W/rebuilt/db" 'SELECT count(*) FROM kv')" = 392 ] ||
		fail "the rebuilt database does not hold the rows"
	echo "sqlite3: rebuild equal to the real files, 392 rows"
	;;

*)
	fail "unknown case"
	;;
esac
exit 0
