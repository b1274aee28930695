#!/bin/sh
# Install what torn needs to build and test, and only what is missing.
# Idempotent: a second run with everything present does nothing (no apt-get at all).
set -eu

pkgs="build-essential cmake pkg-config libfiu-dev fiu-utils liburing-dev libcmocka-dev
      libxxhash-dev libinih-dev libjansson-dev sqlite3 valgrind
      libxml2-utils parallel jq python3
      clang libclang-rt-14-dev time
      chromium"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
