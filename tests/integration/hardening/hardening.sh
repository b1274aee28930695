#!/bin/sh
# tests/integration/hardening/hardening.sh CASE - issue 8's hardening tests.
#
# Environment (set by tests/integration/hardening.cmake):
#   TORN  the torn binary   TORNKV  the tornkv binary   BIN  the test programs
#   SRC   the source tree (fuzz/stateid.trace is valgrind's small trace)
#   WORK  scratch space     SANITIZED  1 in the ASan+UBSan build
#   SHIM  libtorn-shim.so
#
# Cases:
#   hostile      traces escaping their root (.., absolute, NUL, a//b, ./a,
#                symlinks made in the trace or its snapshot then written,
#                renamed, linked, unlinked or mkdir'ed through, a symlinked
#                directory renamed): info, replay and explore exit 2 naming
#                the record; replay leaves no output directory (and, with
#                --force, the old contents untouched); explore's scratch is
#                left empty; a sentinel directory OUTSIDE is byte for byte
#                unchanged and nothing is created next to the work directory
#   limits       traces claiming sizes and counts far beyond anything real
#                (write of 2^60 bytes, at offset 2^62 and INT64_MAX-1,
#                truncate to 2^62, fallocate of 2^61, a 2^60-byte snapshot
#                file, handle ids 2^62 and 2^64-1, 200000 open handles,
#                results of INT64_MIN and a short write of INT64_MAX bytes):
#                exit 0 or 2 (explore: 1 for failing states), never 3 or a
#                signal, under ulimit -v 1 GiB
#                (the plain build; ASan needs its shadow memory)
#   valgrind     memcheck over torn info, replay, replay --state and explore
#                of a small trace: no error, no definite leak
#   stress       16 threads and 4 processes create/write/fsync/rename/unlink
#                for 4 s under torn record: each write once, each worker's
#                order kept (stress_check), replay == the final directory
#   valgrind-load  memcheck over a stress run (25 operations per worker)
#                under torn record, every
#                process (torn, the program, its forks, with the shim), and
#                over stress_check, info and explore of 4 traces cut short
#                by SIGKILL: no error, no definite leak
#   kill         20 runs of a smaller stress (4 threads, 2 processes, 1 s)
#                killed with SIGKILL at random points (even: the program's
#                main process, odd: torn and all of it, the trace cut
#                short): the trace opens, stress_check passes on it, and
#                explore works on its last 10 crash points
#   explore-memory  explore's maximum RSS with 100 and with 1500 random
#                states of one trace: within 4 MiB of each other
#   direct-tmpfs, direct-ext4   tornkv's wal engine in direct mode (O_DIRECT)
#                recorded with its root on /dev/shm and /tmp: O_DIRECT writes
#                in the trace, and every sync/prefix state passes its check
#   sanitized-shim  (sanitized build) the shim carries ASan+UBSan, and torn
#                record runs sh with the ASan runtime first in LD_PRELOAD and
#                both mapped in the image sh execs
# Exit 0 pass, 1 fail (the reason on stderr), 77 when a kernel feature is
# missing.
set -u
umask 022

case_name=$1
W=$WORK/$case_name
rm -rf "$W"
mkdir -p "$W"

fail() {
	echo "FAIL ($case_name): $*" >&2
	exit 1
}

# The state of a directory tree: names, types, sizes, link targets, bytes.
tree_sum() {
	( cd "$1" && find . -printf '%p %y %s %l\n' | LC_ALL=C sort &&
	  find . -type f -exec cat {} + ) | md5sum
}

case $case_name in
hostile)
	mkdir "$W/traces" "$W/outside" "$W/wd"
	echo victim >"$W/outside/victim"
	"$BIN/hard_hostile" "$W/traces" "$W/outside" >"$W/names" || fail "hard_hostile"
	before=$(tree_sum "$W/outside")
	mkdir "$W/scratch" && : >"$W/err"
	around=$(ls -a "$W")
	n=0
	for name in $(grep '^esc-' "$W/names"); do
		tr=$W/traces/$name.trace
		n=$((n + 1))
		for cmd in info replay explore; do
			rm -rf "$W/out" "$W/scratch"
			mkdir "$W/scratch"
			case $cmd in
			info) (cd "$W/wd" && "$TORN" info "$tr") >/dev/null 2>"$W/err" ;;
			replay) (cd "$W/wd" && "$TORN" replay "$tr" --out "$W/out") >/dev/null 2>"$W/err" ;;
			explore) (cd "$W/wd" && "$TORN" explore "$tr" --check true -j 2 -q \
				--scratch "$W/scratch") >/dev/null 2>"$W/err" ;;
			esac
			rc=$?
			[ $rc -eq 2 ] || fail "$cmd $name: exit $rc, expected 2: $(cat "$W/err")"
			grep -q "$name.trace: record [0-9]* at offset [0-9]*: " "$W/err" ||
				fail "$cmd $name: the message does not name the record: $(cat "$W/err")"
			[ ! -e "$W/out" ] || fail "$cmd $name: replay created its output directory"
			[ -z "$(ls -A "$W/scratch")" ] || fail "$cmd $name: left $(ls -A "$W/scratch")"
			[ -z "$(ls -A "$W/wd")" ] || fail "$cmd $name: wrote in its cwd: $(ls -A "$W/wd")"
			[ "$(tree_sum "$W/outside")" = "$before" ] ||
				fail "$cmd $name: the directory outside the root changed"
			[ "$(ls -a "$W")" = "$around" ] ||
				fail "$cmd $name: created next to the work directory: $(ls -a "$W")"
		done
		# --force on a refused trace must not empty the output directory
		mkdir "$W/out" && echo mine >"$W/out/mine"
		"$TORN" replay "$tr" --out "$W/out" --force >/dev/null 2>&1
		[ "$(cat "$W/out/mine" 2>/dev/null)" = mine ] ||
			fail "replay --force $name: emptied the output directory of a refused trace"
		rm -rf "$W/out"
	done
	echo "hostile: $n escaping traces refused by info, replay and explore (exit 2)"
	;;
limits)
	mkdir "$W/traces" "$W/outside"
	"$BIN/hard_hostile" "$W/traces" "$W/outside" >"$W/names" || fail "hard_hostile"
	# 1 GiB of address space: a blind allocation of what a trace claims fails
	[ "${SANITIZED:-0}" = 1 ] || ulimit -v 1048576
	scratch=/dev/shm
	[ -d "$scratch" ] && [ -w "$scratch" ] || scratch=$W
	n=0
	for name in $(grep '^big-' "$W/names"); do
		tr=$W/traces/$name.trace
		n=$((n + 1))
		for cmd in info replay explore; do
			rm -rf "$W/out"
			sd=$(mktemp -d "$scratch/torn-limits.XXXXXX")
			t0=$(date +%s)
			case $cmd in
			info) "$TORN" info "$tr" >/dev/null 2>"$W/err" ;;
			replay) "$TORN" replay "$tr" --out "$sd/out" >/dev/null 2>"$W/err" ;;
			explore) "$TORN" explore "$tr" --check true -j 2 -q --crash-points sync \
				--timeout 20 --scratch "$sd" >/dev/null 2>"$W/err" ;;
			esac
			rc=$?
			rm -rf "$sd"
			t=$(($(date +%s) - t0))
			# explore may also find failing states (exit 1): big-results-min
			# has a failed fsync acknowledged by a later one
			case $cmd:$rc in
			*:0|*:2|explore:1) ;;
			*) fail "$cmd $name: exit $rc (expected 0 or 2): $(head -c 400 "$W/err")" ;;
			esac
			[ $t -le 60 ] || fail "$cmd $name: took $t s"
			echo "limits: $cmd $name: exit $rc in $t s $(head -c 160 "$W/err")"
		done
	done
	echo "limits: $n traces with huge sizes or counts handled"
	;;
valgrind)
	command -v valgrind >/dev/null || fail "valgrind is not installed (scripts/deps.sh)"
	tr=$SRC/fuzz/stateid.trace
	vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
	vg="$vg --show-leak-kinds=definite"
	# (explore has no pidfd_open under valgrind 3.19: it polls its checkers)
	mkdir "$W/scratch"
	for args in "0 info $tr" "0 dump $tr" "0 replay $tr --out $W/r1" \
		"0 replay $tr --state p20 --out $W/r2" \
		"0 explore $tr --check true -j 2 -q --strategy sync,prefix --scratch $W/scratch" \
		"1 explore $tr --check false -j 2 -q --crash-points 20-28 --scratch $W/scratch" \
		"2 info $W/nonexistent.trace" "2 replay $tr --state p999 --out $W/r3"; do
		# shellcheck disable=SC2086
		set -- $args
		want=$1
		shift
		$vg "$TORN" "$@" >/dev/null 2>"$W/vg.err"
		rc=$?
		[ $rc -ne 99 ] || fail "valgrind torn $*: $(head -40 "$W/vg.err")"
		grep -q '^==[0-9]*==' "$W/vg.err" && fail "valgrind torn $*: $(head -40 "$W/vg.err")"
		[ $rc -eq "$want" ] || fail "valgrind torn $*: exit $rc, expected $want: $(tail -3 "$W/vg.err")"
		echo "valgrind: torn $*: exit $rc, 0 errors, 0 definite leaks"
	done
	;;
valgrind-load)
	# memcheck over the shim and the recorder under load (the stress run,
	# every process of it: --trace-children) and over the readers of traces
	# cut short by SIGKILL (stress_check, info, explore)
	command -v valgrind >/dev/null || fail "valgrind is not installed (scripts/deps.sh)"
	vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
	vg="$vg --show-leak-kinds=definite"
	mkdir "$W/root" "$W/vg"
	# shellcheck disable=SC2086
	(cd "$W/root" && $vg --trace-children=yes --fair-sched=yes --log-file="$W/vg/stress.%p" \
		"$TORN" record -q -o "$W/t.trace" --root "$W/root" -- \
		"$BIN/hard_stress" "$W/root" 60 16 4 25 >"$W/counts") ||
		fail "valgrind torn record of the stress program: exit $?"
	# torn's pidfd_open is unknown to valgrind 3.19: a warning, not an error
	bad=$(grep -v -e '^--[0-9]*-- ' "$W"/vg/stress.* | head -40)
	[ -z "$bad" ] || fail "valgrind over the stress run: $bad"
	out=$("$BIN/hard_stress_check" "$W/t.trace" "$W/counts") || fail "stress_check: $out"
	echo "valgrind-load: stress under memcheck ($(ls "$W/vg" | wc -l) processes): $out; 0 errors, 0 definite leaks"
	i=0
	while [ $i -lt 4 ]; do
		d=$W/k$i
		mkdir -p "$d/root"
		setsid "$TORN" record -q -o "$d/t.trace" --root "$d/root" -- \
			"$BIN/hard_stress" "$d/root" 1 4 2 400 "$d/pid" >/dev/null 2>&1 &
		rpid=$!
		# from the moment every worker runs (the pid file; 10 s at most)
		t=0
		while [ ! -s "$d/pid" ] && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
		ms=$((20 + 40 * i))     # the program is done in about 300 ms
		sleep "$(printf '0.%03d' $ms)"
		kill -9 "-$rpid" 2>/dev/null
		wait "$rpid" 2>/dev/null
		cut=$("$BIN/hard_stress_check" "$d/t.trace" - | grep -c 'cut short')
		# explore: the last 10 crash points, as the kill case (all of them
		# would take minutes under memcheck)
		last=$("$TORN" info "$d/t.trace" | sed -n 's/^ *seqs *[0-9]* \.\. \([0-9]*\).*/\1/p')
		[ -n "$last" ] || last=1
		lo=$((last > 10 ? last - 10 : 1))
		# shellcheck disable=SC2086
		for cmd in "$BIN/hard_stress_check $d/t.trace -" "$TORN info $d/t.trace" \
			"$TORN explore $d/t.trace --check true -j 2 -q --strategy sync --crash-points $lo-$last --timeout 60"; do
			$vg $cmd >/dev/null 2>"$d/vg.err"
			rc=$?
			[ $rc -eq 0 ] && ! grep -q '^==[0-9]*==' "$d/vg.err" ||
				fail "valgrind $cmd (killed at $ms ms): exit $rc: $(head -40 "$d/vg.err")"
		done
		echo "valgrind-load: kill point $i at $ms ms (seqs up to $last, cut short: $cut): stress_check, info, explore $lo-$last: 0 errors, 0 definite leaks"
		rm -rf "$d"
		i=$((i + 1))
	done
	;;
stress)
	mkdir "$W/root"
	t0=$(date +%s)
	(cd "$W/root" && "$TORN" record -q -o "$W/t.trace" --root "$W/root" -- \
		"$BIN/hard_stress" "$W/root" 4 16 4 1000000 >"$W/counts") ||
		fail "torn record of the stress program failed"
	t1=$(date +%s)
	out=$("$BIN/hard_stress_check" "$W/t.trace" "$W/counts") || fail "stress_check: $out"
	"$TORN" replay "$W/t.trace" --out "$W/replay" >/dev/null || fail "replay"
	diff -r --no-dereference "$W/replay" "$W/root" >"$W/diff" 2>&1 ||
		fail "the replay differs from the final directory: $(head -5 "$W/diff")"
	echo "stress: 16 threads + 4 processes for $((t1 - t0)) s: $out; replay equal"
	echo "stress: $(wc -l <"$W/counts") workers, $(awk '{s += $2} END {print s}' "$W/counts") operations, trace $(wc -c <"$W/t.trace") bytes"
	;;
kill)
	seed=${KILL_SEED:-$$}
	echo "kill: seed $seed"
	i=0
	cut=0
	while [ $i -lt 20 ]; do
		d=$W/k$i
		mkdir -p "$d/root"
		# a random point within the program's 1 s, 30..980 ms in
		ms=$(( (seed * 7919 + i * 104729) % 950 + 30 ))
		setsid "$TORN" record -q -o "$d/t.trace" --root "$d/root" -- \
			"$BIN/hard_stress" "$d/root" 1 4 2 400 "$d/pid" >/dev/null 2>"$d/err" &
		rpid=$!
		# counted from the moment every worker runs (the pid file; a
		# loaded machine may take a while to get there; 10 s at most)
		t=0
		while [ ! -s "$d/pid" ] && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
		sleep "$(printf '0.%03d' "$ms")" 2>/dev/null || sleep 1
		if [ $((i % 2)) -eq 0 ] && [ -s "$d/pid" ]; then
			kill -9 "$(cat "$d/pid")" 2>/dev/null     # the program's main process
		else
			kill -9 "-$rpid" 2>/dev/null             # torn and every process of the run (if still running)
		fi
		wait "$rpid" 2>/dev/null
		# whatever is left of the run's process group ends now
		kill -9 "-$rpid" 2>/dev/null
		out=$("$BIN/hard_stress_check" "$d/t.trace" -) ||
			fail "kill point $i (${ms} ms): stress_check: $out"
		case $out in *"cut short"*) cut=$((cut + 1)) ;; esac
		info=$("$TORN" info "$d/t.trace" 2>&1) || fail "kill point $i: torn info: $info"
		last=$(echo "$info" | sed -n 's/^ *seqs *[0-9]* \.\. \([0-9]*\).*/\1/p')
		[ -n "$last" ] || last=1
		lo=$((last > 10 ? last - 10 : 1))
		"$TORN" explore "$d/t.trace" --check true -j 2 -q --crash-points "$lo-$last" \
			--strategy sync --timeout 60 >"$d/explore" 2>&1 ||
			fail "kill point $i: torn explore on the killed run's trace: $(tail -5 "$d/explore")"
		echo "kill point $i at $ms ms: $out; explore $lo-$last: $(grep 'states checked' "$d/explore" | tr -s ' ')"
		rm -rf "$d"
		i=$((i + 1))
	done
	echo "kill: 20 kill points, $cut traces cut short, all readable and explored"
	;;
explore-memory)
	# 200 appends to 3 files, never synced: every draw of random:N is a
	# different state, so N bounds the states explored
	mkdir "$W/root"
	(cd "$W/root" && "$TORN" record -q -o "$W/t.trace" --root "$W/root" -- sh -c \
		'i=0; while [ $i -lt 200 ]; do echo "line $i" >>f$((i % 3)); i=$((i + 1)); done') ||
		fail "torn record of the append loop"
	for n in 100 1500; do
		/usr/bin/time -f '%M' -o "$W/rss$n" "$TORN" explore "$W/t.trace" --check true -q \
			-j 2 --strategy random:$n >"$W/out$n" 2>&1 || fail "explore random:$n: $(cat "$W/out$n")"
		echo "explore-memory: random:$n: $(tr -s ' ' <"$W/out$n" | tail -1), max RSS $(tail -1 "$W/rss$n") KiB"
	done
	small=$(tail -1 "$W/rss100")
	big=$(tail -1 "$W/rss1500")
	# the set of state hashes (checked once) is all that may grow
	[ "$big" -le $((small + 4096)) ] ||
		fail "explore's memory grew with the number of states: $small KiB -> $big KiB"
	;;
sanitized-shim)
	# The sanitized build checks the shim itself: it carries ASan+UBSan, and
	# torn record puts the ASan runtime first in LD_PRELOAD, in every image
	# the program runs (docs/record.md, "The sanitized build").
	[ "${SANITIZED:-0}" = 1 ] || fail "only meaningful in the sanitized build"
	readelf -d "$SHIM" | grep -q 'NEEDED.*libasan' ||
		fail "$SHIM is not linked with the ASan runtime (built without sanitizers?)"
	nm -D "$SHIM" | grep -q '__asan_report_' || fail "$SHIM has no ASan checks"
	nm -D "$SHIM" | grep -q '__ubsan_handle_' || fail "$SHIM has no UBSan checks"
	mkdir "$W/root"
	"$TORN" record -q -o "$W/t.trace" --root "$W/root" -- sh -c \
		'printf "%s\n" "$LD_PRELOAD"; cat /proc/self/maps; echo x >"$0/f"' "$W/root" \
		>"$W/out" || fail "torn record sh: $(cat "$W/out")"
	first=$(head -1 "$W/out" | cut -d: -f1)
	case ${first##*/} in libasan.so*) ;;
	*) fail "LD_PRELOAD of the recorded sh does not start with the ASan runtime: $(head -1 "$W/out")" ;;
	esac
	head -1 "$W/out" | grep -q "libtorn-shim.so" || fail "no shim in LD_PRELOAD: $(head -1 "$W/out")"
	# cat, a second image: both libraries mapped in it
	grep -q '/libasan\.so' "$W/out" || fail "no ASan runtime mapped in cat"
	grep -q '/libtorn-shim\.so' "$W/out" || fail "no shim mapped in cat"
	"$TORN" info "$W/t.trace" | grep -q 'status *complete (program exited 0)' ||
		fail "the trace of the sanitized run is not complete"
	echo "sanitized-shim: LD_PRELOAD=$(head -1 "$W/out"); runtime and shim mapped in the exec'd cat"
	;;
direct-tmpfs|direct-ext4)
	if [ "$case_name" = direct-tmpfs ]; then base=/dev/shm; else base=/tmp; fi
	[ -d "$base" ] && [ -w "$base" ] || { echo "no $base"; exit 77; }
	r=$(mktemp -d "$base/torn-direct.XXXXXX")
	trap 'rm -rf "$r"' EXIT
	mkdir "$r/d"
	if ! (: >"$r/probe" && dd if=/dev/zero of="$r/probe" bs=4096 count=1 oflag=direct \
		2>/dev/null); then
		echo "O_DIRECT not supported on $base"
		exit 77
	fi
	fs=$(stat -f -c %T "$base")
	kv="$TORNKV --engine wal --mode direct --ops 60 --keys 8 --value-size 300"
	# shellcheck disable=SC2086
	"$TORN" record -q -o "$W/t.trace" --root "$r/d" -- $kv --dir "$r/d" workload ||
		fail "torn record of tornkv direct on $base ($fs)"
	nd=$("$TORN" info "$W/t.trace" | sed -n 's/^ *direct (O_DIRECT) *\([0-9]*\).*/\1/p')
	[ "${nd:-0}" -gt 0 ] || fail "no O_DIRECT write in the trace on $base ($fs)"
	out=$("$TORN" explore "$W/t.trace" --strategy sync,prefix -q --timeout 20 -j 2 \
		--check "$kv --dir . check" 2>&1) ||
		fail "explore of tornkv direct on $base: $(echo "$out" | head -10)"
	echo "$case_name: $fs, $nd O_DIRECT writes; $(echo "$out" | grep 'states checked' | tr -s ' ')"
	;;
*)
	echo "hardening.sh: unknown case '$case_name'" >&2
	exit 2
	;;
esac
exit 0
