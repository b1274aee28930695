#!/bin/sh
# tests/integration/explore/reuse.sh - torn explore reuses the directories
# of passed states for later ones (renamed, rewritten in place): whatever a
# checker did to its directory, the next state there must be exactly what
# `torn replay` makes in a fresh one (names, types, bytes, sizes, modes,
# link counts).  The checker here compares its state with a replay, then
# vandalises it: files truncated, appended to, made read-only or replaced
# by directories and symlinks, directories made unwritable, extra files,
# hard links (also to a file outside), the state dir's own mode changed.
# The workload has directories, a rename, and a hard link late in the
# trace (states with links are written afresh: both paths run).
#
# Environment (tests/integration/explore.cmake): TORN, WORK.
set -u
umask 022
W=$WORK/reuse
rm -rf "$W"
mkdir -p "$W/root" "$W/outside"
cd "$W" || exit 1

fail() {
	echo "FAIL [reuse]: $*" >&2
	exit 1
}

"$TORN" record -q -o "$W/t.trace" --root "$W/root" -- sh -c '
	cd "$1" || exit 1
	mkdir d d/e
	printf "%0300d" 1 > d/a
	printf "%05000d" 2 > d/e/b
	printf "%0100d" 3 > c
	sync
	chmod 600 c
	printf "%09000d" 4 > d/e/b
	mv d/a d/e/a2
	printf "x" >> c
	sync
	ln c d/clink
	printf "%0700d" 5 >> d/e/a2
' sh "$W/root" || fail "torn record failed"

cat > "$W/check.sh" <<'CHECK'
#!/bin/sh
# compare with a fresh replay, then vandalise
set -u
ref=$(mktemp -d "${TMPDIR:-/tmp}/torn-reuse-ref.XXXXXX") || exit 2
trap 'chmod -R u+rwx "$ref" 2>/dev/null; rm -rf "$ref"' EXIT
"$TORN" replay "$TORN_TRACE" --state "$TORN_STATE_ID" --out "$ref/s" >/dev/null 2>&1 ||
	{ echo "replay failed"; exit 2; }
# sizes of files only (a directory's size is the file system's business)
list() { (cd "$1" && find . \( -type f -printf '%p f %m %s %n\n' \) -o -printf '%p %y %m %n\n' | sort); }
list "$ref/s" > "$ref/want"
list "$TORN_STATE" > "$ref/got"
if ! cmp -s "$ref/want" "$ref/got"; then
	echo "state $TORN_STATE_ID differs from its replay:"
	diff "$ref/want" "$ref/got" | head -10
	exit 1
fi
if ! diff -r --no-dereference "$ref/s" "$TORN_STATE" >/dev/null; then
	echo "state $TORN_STATE_ID: contents differ from its replay"
	exit 1
fi
cd "$TORN_STATE" || exit 2
[ -f c ] && { printf "junk" >> c; chmod 400 c; }
[ -f d/a ] && { : > d/a; ln d/a "$OUTSIDE/link.$$"; }
[ -d d/e ] && { mkdir d/e/newdir; echo x > d/e/newdir/f; chmod 500 d/e; }
[ -f d/e/b ] && { rm -f d/e/b; mkdir d/e/b 2>/dev/null; }
[ -f d/e/a2 ] && { rm -f d/e/a2; ln -s /etc/passwd d/e/a2 2>/dev/null; }
[ -d d ] && { ln -s . d/loop; echo extra > d/extra; }
echo top > top-extra
mkdir -p x/y/z && chmod 000 x/y
chmod 700 "$TORN_STATE"
exit 0
CHECK
chmod +x "$W/check.sh"

for j in 1 2; do
	TORN="$TORN" OUTSIDE="$W/outside" "$TORN" explore "$W/t.trace" \
		--strategy sync,prefix,reorder:1 -j $j -q --json "$W/r$j.json" \
		--check "$W/check.sh" >"$W/out" 2>&1
	rc=$?
	[ $rc -eq 0 ] || { cat "$W/out" >&2; fail "torn explore -j $j exited $rc"; }
	n=$(sed -n 's/^ *"states_checked": \([0-9]*\),*$/\1/p' "$W/r$j.json")
	[ "${n:-0}" -ge 20 ] || fail "only ${n:-0} states checked with -j $j (expected >= 20)"
	echo "-j $j: $n states, each identical to its replay after the previous one was vandalised"
done
# the checker's links to files outside: their contents are the checker's,
# never rewritten by torn (a state's file with a second link is replaced)
for f in "$W"/outside/link.*; do
	[ -e "$f" ] || continue
	[ -s "$f" ] && fail "$f was written through a link the checker made"
done
exit 0
