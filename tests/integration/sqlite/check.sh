#!/bin/sh
# tests/integration/sqlite/check.sh - the checker of the sqlite3 validation,
# run by torn explore in a crash state (cwd = the state, $TORN_MARKS = the
# acks made before the crash point).
#
#   exit 0  the database opens, PRAGMA integrity_check says ok, and every
#           acknowledged row ("ack N" in $TORN_MARKS) is in table t
#   exit 2  integrity failure (or the database cannot be read at all)
#   exit 3  an acknowledged row is missing (a lost commit)
set -u
out=$(sqlite3 db.sqlite 'PRAGMA integrity_check' 2>&1)
if [ "$out" != ok ]; then
	echo "integrity: $out"
	exit 2
fi
rows=$(sqlite3 db.sqlite 'SELECT id FROM t ORDER BY id' 2>&1) || {
	echo "cannot read table t: $rows"
	exit 2
}
for n in $(sed -n 's/^ack \([0-9][0-9]*\)$/\1/p' "$TORN_MARKS"); do
	case "
$rows
" in
	*"
$n
"*) ;;
	*)
		echo "lost acknowledged row $n (table has: $(echo $rows))"
		exit 3
		;;
	esac
done
exit 0
