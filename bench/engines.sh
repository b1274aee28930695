#!/bin/sh
# bench/engines.sh BUILD_DIR - puts/s of the bundled engines (each mode,
# --sync every and none, 100-byte values) against SQLite in WAL mode
# (synchronous FULL and OFF).  Runs on a real file system ($TMPDIR or
# /var/tmp, not tmpfs, where fsync costs nothing).
set -u
B=${1:-build}
bin="$B/bench/engines-bench"
[ -x "$bin" ] || { echo "engines: $bin not built (libsqlite3-dev missing?)"; exit 1; }
dir=${TMPDIR:-/var/tmp}
"$bin" "$dir" "${ENGINES_BENCH_EVERY:-1000}" "${ENGINES_BENCH_NONE:-100000}"
