#!/bin/sh
# tests/integration/sqlite/sqlite_test.sh CONFIG - torn on a program no one
# here wrote: Debian's sqlite3 CLI running 20 small transactions, each
# followed by `SELECT 'ack N';` (recorded with --marks-from-stdout).  The
# database (table t) is created before recording, so it is part of the
# durable starting state.  check.sh: PRAGMA integrity_check + every acked row.
#
# CONFIG and what SQLite documents (the expected answer, strict model):
#   wal-full     journal_mode=WAL, synchronous=FULL      no failure
#   delete-extra journal_mode=DELETE, synchronous=EXTRA  no failure
#   delete-full  journal_mode=DELETE, synchronous=FULL   only the last acked
#                transaction can be lost (the journal's unlink is not durable
#                until the next journal's creation syncs the directory),
#                never an integrity failure
#   off          synchronous=OFF                         lost acked commits;
#                torn minimize shrinks one to a handful of deviations
#
# Environment: TORN, WORK, CHECK (check.sh).  Exit 0 pass, 1 fail.
set -u
umask 022

cfg=$1
W=$WORK/$cfg
rm -rf "$W"
mkdir -p "$W/root"
cd "$W" || exit 1

fail() {
	echo "FAIL [sqlite $cfg]: $*" >&2
	exit 1
}

command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (scripts/deps.sh installs it)"

case $cfg in
wal-full)     jm=WAL;    sync=FULL ;;
delete-extra) jm=DELETE; sync=EXTRA ;;
delete-full)  jm=DELETE; sync=FULL ;;
off)          jm=DELETE; sync=OFF ;;
*) fail "unknown config" ;;
esac

# The starting state: the database with its table, journal mode set.
sqlite3 root/db.sqlite "PRAGMA journal_mode=$jm; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" \
	>/dev/null || fail "cannot create the database"

sql="PRAGMA synchronous=$sync;"
i=1
while [ $i -le 20 ]; do
	sql="$sql BEGIN; INSERT INTO t VALUES($i, 'row $i'); COMMIT; SELECT 'ack $i';"
	i=$((i + 1))
done

(cd root && "$TORN" record -q --marks-from-stdout -o "$W/run.trace" --root "$W/root" -- \
	sqlite3 db.sqlite "$sql") >"$W/rec.out" 2>"$W/rec.err" ||
	{ cat "$W/rec.err" >&2; fail "torn record failed"; }
grep -q "ack 20" "$W/rec.out" || { cat "$W/rec.out" >&2; fail "sqlite3 did not print its acks"; }
[ "$(sqlite3 root/db.sqlite 'SELECT count(*) FROM t')" = 20 ] || fail "the recorded run did not insert 20 rows"

"$TORN" explore "$W/run.trace" --crash-points sync --strategy sync,prefix -j 2 \
	--check "sh $CHECK" --json "$W/r.json" --max-failures-shown 2 >"$W/out" 2>"$W/err"
rc=$?
cat "$W/out"
[ "$rc" -le 1 ] || { cat "$W/err" >&2; fail "torn explore exited $rc"; }

# "exit" codes of the failures (2 integrity, 3 lost row) and their outputs.
exits=$(sed -n 's/^ *"exit": \([0-9]*\),*$/\1/p' "$W/r.json" | sort | uniq -c)
echo "failures by checker exit: ${exits:-none}"

case $cfg in
wal-full|delete-extra)
	[ "$rc" -eq 0 ] || fail "failures found where SQLite promises none"
	;;
delete-full)
	grep -q '"exit": 2' "$W/r.json" && fail "an integrity failure under synchronous=FULL"
	grep -q '"crash": 0' "$W/r.json" || fail "the checker crashed"
	grep -q '"hang": 0' "$W/r.json" || fail "the checker hung"
	# Every lost row is the last one acknowledged in that state.
	if [ "$rc" -eq 1 ]; then
		n=0
		for id in $(sed -n 's/^ *"state": "\(.*\)",$/\1/p' "$W/r.json"); do
			"$TORN" replay "$W/run.trace" --state "$id" --out "$W/st" --force \
				--marks "$W/st.marks" >/dev/null || fail "replay $id"
			last=$(sed -n 's/^ack \([0-9]*\)$/\1/p' "$W/st.marks" | tail -n 1)
			lost=$(cd "$W/st" && TORN_MARKS="$W/st.marks" sh "$CHECK" | sed -n 's/^lost acknowledged row \([0-9]*\) .*/\1/p')
			[ "$lost" = "$last" ] || fail "state $id lost row '$lost', not the last acked ($last)"
			# ... and only that one: every earlier acked row is there.
			rows=$(cd "$W/st" && sqlite3 db.sqlite 'SELECT count(*) FROM t')
			[ "$rows" -eq $((last - 1)) ] || fail "state $id has $rows rows, expected $((last - 1))"
			n=$((n + 1))
		done
		echo "delete-full: $n states lose exactly the last acknowledged transaction"
		# And the cause is the one SQLite documents: the journal's unlink
		# not yet durable (minimize the last failure to see it).
		"$TORN" minimize "$W/run.trace" --state "$id" --check "sh $CHECK" -q \
			>"$W/min.out" 2>"$W/min.err"
		[ $? -eq 1 ] || { cat "$W/min.err" >&2; fail "minimize of $id failed"; }
		cut -c1-200 "$W/min.out"
		grep -q "^minimal: .*(crash point [0-9]*, 1 deviation)" "$W/min.out" ||
			fail "the minimal state is not a single deviation"
		grep -q "db.sqlite-journal: unlink (event [0-9]*) not persisted" "$W/min.out" ||
			fail "the minimal deviation is not the journal's unlink"
	fi
	;;
off)
	[ "$rc" -eq 1 ] || fail "no failure found under synchronous=OFF"
	grep -q '"exit": 3' "$W/r.json" || fail "no lost acknowledged commit under synchronous=OFF"
	# Minimize one lost commit (the first with checker exit 3).
	id=$(awk '/"state":/ { s = $2 } /"exit": 3/ { gsub(/[",]/, "", s); print s; exit }' "$W/r.json")
	[ -n "$id" ] || fail "no lost-commit state id"
	"$TORN" minimize "$W/run.trace" --state "$id" --check "sh $CHECK" -q >"$W/min.out" 2>"$W/min.err"
	mrc=$?
	cat "$W/min.out"
	[ "$mrc" -eq 1 ] || { cat "$W/min.err" >&2; fail "minimize exited $mrc"; }
	min=$(sed -n 's/^minimal:  \([^ ]*\) .*/\1/p' "$W/min.out")
	ndev=$(sed -n 's/^minimal:  [^ ]* (crash point [0-9]*, \([0-9]*\) deviation.*/\1/p' "$W/min.out")
	[ -n "$min" ] && [ -n "$ndev" ] || fail "minimize printed no minimal id"
	[ "$ndev" -le 8 ] || fail "minimal state $min still has $ndev deviations"
	"$TORN" replay "$W/run.trace" --state "$min" --out "$W/min" --marks "$W/min.marks" >/dev/null ||
		fail "replay of the minimal state"
	(cd "$W/min" && TORN_MARKS="$W/min.marks" sh "$CHECK") >/dev/null &&
		fail "the minimal state $min passes the checker"
	;;
esac
exit 0
