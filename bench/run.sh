#!/bin/sh
# bench/run.sh BUILD_DIR - run every benchmark (bench/*.sh but this one).
# Benchmarks print their figures and never fail on timing.
set -u
B=${1:-build}
dir=$(dirname "$0")
rc=0
for s in "$dir"/*.sh; do
	[ "$(basename "$s")" = run.sh ] && continue
	echo "== $(basename "$s" .sh)"
	sh "$s" "$B" || rc=1
done
exit $rc
