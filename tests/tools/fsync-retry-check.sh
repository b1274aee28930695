#!/bin/sh
# tests/tools/fsync-retry-check.sh - the checker of tests/tools/fsync-retry.c
# for torn explore: every record acknowledged before the crash point (a
# line "ack I" in $TORN_MARKS) must be in $TORN_STATE/data.log as "rec I".
# Exit 0 when all are there, 1 naming the first missing one.
set -u
marks=${TORN_MARKS:?TORN_MARKS not set}
state=${TORN_STATE:-.}
log=$state/data.log
while IFS= read -r line; do
	case $line in
	"ack "*) i=${line#ack } ;;
	*) continue ;;
	esac
	if ! [ -f "$log" ] || ! grep -qx "rec $i" "$log"; then
		echo "acknowledged record $i is not in data.log" >&2
		exit 1
	fi
done < "$marks"
exit 0
