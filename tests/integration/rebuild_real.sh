#!/bin/sh
# tests/integration/rebuild_real.sh - the full-persist rebuild of a recorded
# program equals the directory the program really left, byte for byte,
# names, types, sizes, modes and hard links included; and the rebuild up to
# each "checkpoint N" mark equals the copy the program made of its
# directory at that point.
#
#   rebuild_real.sh CASE TORN WORKLOAD TRACE_REBUILD WORKDIR
#   CASE: workload | shell | sqlite
set -u
CASE=$1 TORN=$2 WORKLOAD=$3 REBUILD=$4 W=$5/$1
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# listing DIR: one line per entry: type, mode, links, size (files), path
listing() {
	(cd "$1" && find . -mindepth 1 \( -type f -printf 'f %m %n %s %p\n' \) -o \
		\( -type d -printf 'd %m %n - %p\n' \) -o \( -type l -printf 'l - - %l %p\n' \) |
		LC_ALL=C sort)
}

# same REAL REBUILT WHAT
same() {
	listing "$1" > "$W/real.lst"
	listing "$2" > "$W/rebuilt.lst"
	if ! cmp -s "$W/real.lst" "$W/rebuilt.lst"; then
		fail "$3: entries differ (< real, > rebuilt):"
		diff "$W/real.lst" "$W/rebuilt.lst" | head -20
	fi
	if ! diff -r --no-dereference "$1" "$2" > "$W/diff.out" 2>&1; then
		fail "$3: contents differ:"
		head -20 "$W/diff.out"
	fi
}

record() {
	"$TORN" record -o "$W/run.trace" --root "$W/root" -- "$@" > "$W/record.out" 2>&1 ||
		{ cat "$W/record.out"; echo "FAIL: torn record $*"; exit 1; }
}

rm -rf "$W" && mkdir -p "$W/root" "$W/snap" || exit 1

# A starting tree the trace must capture: nested directories, a hard link
# pair, a symlink, a file the program changes and one it removes.
mkdir -p "$W/root/pre/sub"
printf 'starting bytes\n' > "$W/root/pre/file"
ln "$W/root/pre/file" "$W/root/pre/hardlink"
ln -s file "$W/root/pre/symlink"
printf 'keep me' > "$W/root/pre/sub/kept"
printf 'remove me' > "$W/root/removed"

case $CASE in
workload)
	record "$WORKLOAD" "$W/root" "$W/snap"
	n=0
	for cp in "$W"/snap/*; do
		n=$((n + 1))
		k=$(basename "$cp")
		seq=$("$TORN" dump "$W/run.trace" |
		      awk -v t="text=\"checkpoint $k\"" '$3 == "mark" && index($0, t) { print $1 }')
		[ -n "$seq" ] || { fail "no mark 'checkpoint $k' in the trace"; continue; }
		"$REBUILD" "$W/run.trace" "$W/at$k" "$seq" || { fail "trace-rebuild up to $seq"; continue; }
		same "$cp" "$W/at$k" "checkpoint $k (seq < $seq)"
	done
	[ $n -eq 7 ] || fail "expected 7 checkpoints, found $n"
	;;
shell)
	record sh -c '
		set -e
		cd "$1"
		mkdir -p a/b/c
		echo one > a/b/c/f
		echo two >> a/b/c/f
		mv a/b/c/f a/f
		ln a/f a/f2
		ln -s ../a/f a/b/link
		# Plain cp would use copy_file_range(2) (or FICLONE), which the shim
		# does not record yet: the copy would be missing from the trace.
		cp --reflink=never a/f a/copy
		# 3 bytes at offset 2 through a 4 KiB buffer: with bs=1, dd asks
		# aligned_alloc for 1 byte at 4096, which the ASan runtime (preloaded
		# into every recorded program in the sanitized build) refuses.
		dd if=/dev/zero of=a/copy bs=4096 count=3 seek=2 iflag=count_bytes \
			oflag=seek_bytes conv=notrunc 2>/dev/null
		truncate -s 100 a/f
		truncate -s 3 a/copy
		rm removed
		rm -r a/b/c
		printf x > pre/file
		if command -v fallocate > /dev/null; then
			fallocate -l 8192 a/alloc
			fallocate -p -o 100 -l 1000 a/alloc
		fi
		mv pre/sub newsub
		rmdir a/b/c 2>/dev/null || true
	' sh "$W/root"
	"$REBUILD" "$W/run.trace" "$W/full" || fail "trace-rebuild"
	same "$W/root" "$W/full" "shell"
	;;
sqlite)
	record sh -c '
		set -e
		cd "$1"
		sqlite3 rollback.db "PRAGMA journal_mode=DELETE;
			CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);
			BEGIN; INSERT INTO t VALUES(1, randomblob(3000)); INSERT INTO t VALUES(2, zeroblob(9000)); COMMIT;
			BEGIN; UPDATE t SET v = randomblob(100) WHERE k = 1; DELETE FROM t WHERE k = 2; COMMIT;
			VACUUM;" > /dev/null
		sqlite3 wal.db "PRAGMA journal_mode=WAL;
			CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);
			BEGIN; INSERT INTO t VALUES(1, randomblob(5000)); COMMIT;
			BEGIN; INSERT INTO t VALUES(2, randomblob(70000)); COMMIT;
			PRAGMA wal_checkpoint(TRUNCATE);
			INSERT INTO t VALUES(3, 3);" > /dev/null
	' sh "$W/root"
	"$REBUILD" "$W/run.trace" "$W/full" || fail "trace-rebuild"
	same "$W/root" "$W/full" "sqlite"
	;;
*)
	echo "unknown case $CASE"; exit 2 ;;
esac

[ $fails -eq 0 ] && echo "rebuild_real $CASE: the rebuild equals the real directory"
exit $((fails != 0))
