#!/bin/sh
# The default demo of `make run`: the quick scenario suite (scenarios/quick/),
# a cross-section of what torn checks - the tinylog demo program without and
# with its directory fsync, bundled engines in buffered and O_DIRECT mode,
# seeded bugs that must be found (an fsync retried after an injected EIO
# among them; each shown with the commands that replay
# and minimize the failing state), sqlite3 with journal_mode=DELETE.
# `torn run` exits 0 when every scenario met its expectation: the bugs found
# where a bug is seeded, nothing found where none is.
set -eu

build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)

echo "\$ torn run scenarios/quick"
exec "$build/bin/torn" run "$src/scenarios/quick"
