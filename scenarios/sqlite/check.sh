#!/bin/sh
# scenarios/sqlite/check.sh - the checker of the sqlite3 scenarios, run by
# torn in a crash state (cwd = the state, $TORN_MARKS = the acks made before
# the crash point).  It says which promise broke, so that a scenario can
# expect one reason and no other:
#
#   exit 0  the database opens, PRAGMA integrity_check says ok, every
#           acknowledged row ("ack N" in $TORN_MARKS) is in table t
#   exit 2  "integrity: ..."  the database is damaged or unreadable
#   exit 3  "lost only the last acknowledged transaction (row N)"
#           every acknowledged row is there but the last one
#   exit 4  "lost acknowledged row N (not the last one acknowledged)"
set -u
out=$(sqlite3 db.sqlite 'PRAGMA integrity_check' 2>&1)
if [ "$out" != ok ]; then
	echo "integrity: $out"
	exit 2
fi
rows=$(sqlite3 db.sqlite 'SELECT id FROM t ORDER BY id' 2>&1) || {
	echo "integrity: cannot read table t: $rows"
	exit 2
}
acks=$(sed -n 's/^ack \([0-9][0-9]*\)$/\1/p' "$TORN_MARKS")
last=$(printf '%s\n' "$acks" | tail -n 1)
for n in $acks; do
	case "
$rows
" in
	*"
$n
"*) ;;
	*)
		if [ "$n" = "$last" ]; then
			echo "lost only the last acknowledged transaction (row $n)"
			exit 3
		fi
		echo "lost acknowledged row $n (not the last one acknowledged; table has: $(echo $rows))"
		exit 4
		;;
	esac
done
exit 0
