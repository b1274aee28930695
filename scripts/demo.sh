#!/bin/sh
# The default demo of `make run`: record a small program, summarise its trace,
# and explore its crash states twice - once with a known durability bug (no
# fsync of the directory after creating the log), once fixed.  The demo meets
# its expectations when torn finds the bug (exit 1) and passes the fix (exit 0).
set -eu

build=$(cd "${1:-build}" && pwd)
torn="$build/bin/torn"
tinylog="$build/bin/tinylog"
work=$(mktemp -d "${TMPDIR:-/tmp}/torn-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# Show a command as one could paste it (arguments with spaces quoted), then run it.
run() {
	printf '\n$'
	for a in "$@"; do
		case "$a" in *" "*) printf " '%s'" "$a" ;; *) printf ' %s' "$a" ;; esac
	done
	printf '\n'
	"$@"
}

mkdir -p "$work/buggy" "$work/fixed"
echo "== tinylog: 5 records, each fdatasync'ed and acknowledged with a mark"
run "$torn" record -q -o "$work/buggy.trace" --root "$work/buggy" -- "$tinylog" write "$work/buggy" 5
run "$torn" info "$work/buggy.trace"

echo
echo "== crash states of the buggy run (expected: acknowledged records lost)"
set +e
run "$torn" explore "$work/buggy.trace" --strategy sync,prefix -q --check "$tinylog check ."
buggy=$?
set -e

echo
echo "== the same program with 'fsync the directory after creating the log'"
run "$torn" record -q -o "$work/fixed.trace" --root "$work/fixed" -- "$tinylog" write "$work/fixed" 5 --dirsync
set +e
run "$torn" explore "$work/fixed.trace" --strategy sync,prefix -q --check "$tinylog check ."
fixed=$?
set -e

echo
if [ "$buggy" -eq 1 ] && [ "$fixed" -eq 0 ]; then
	echo "demo: as expected - the bug is found (exit 1) and the fix passes (exit 0)"
	exit 0
fi
echo "demo: unexpected result: buggy run exit $buggy (expected 1), fixed run exit $fixed (expected 0)"
exit 1
