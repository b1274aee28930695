#!/bin/sh
# scenarios/sqlite/workload.sh SYNC N - the recorded run of the sqlite3
# scenarios: Debian's sqlite3 CLI commits N small transactions to db.sqlite
# (created by the scenario's setup, in the current directory) with
# PRAGMA synchronous=SYNC, and prints "ack I" after each COMMIT returned:
# with marks-from-stdout, each ack is a promise the checker holds it to.
set -eu
sync=$1 n=$2
sql="PRAGMA synchronous=$sync;"
i=1
while [ "$i" -le "$n" ]; do
	sql="$sql BEGIN; INSERT INTO t VALUES($i, 'row $i'); COMMIT; SELECT 'ack $i';"
	i=$((i + 1))
done
exec sqlite3 db.sqlite "$sql"
