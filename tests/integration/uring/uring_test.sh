#!/bin/sh
# tests/integration/uring/uring_test.sh CASE - io_uring under torn's shim
# (issue 6).  Environment: TORN (the torn binary), OPS (uring_ops).
#
#   ops    record `uring_ops ops` (each operation, with and without links
#          and drains, registered files and buffers, a failed write, a nop,
#          an unmodelled mkdirat, an SQPOLL ring when the kernel allows
#          one); its io_uring events are checked event by event; `torn
#          info` reports the unsupported ones and `torn explore` warns
#   bad    write + fsync in one batch without a link, 8 records: torn
#          explore finds a promised record missing
#   good   the same, linked: torn explore finds nothing
#   spin   linked, completions reaped by spinning on io_uring_peek_cqe (no
#          call the shim sees after they arrive): the mark right after them
#          must still come after them in the trace, so nothing is found
# Exit 0 pass, 1 fail, 77 no io_uring in this kernel.
set -u
case=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/torn-uring.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/d"

probe() {
	# io_uring disabled (kernel.io_uring_disabled, seccomp): not our failure
	"$OPS" commit "$work/probe" good 1 >/dev/null 2>&1
	[ $? = 77 ] && { echo "skip: io_uring is not available"; exit 77; }
}
mkdir "$work/probe"; probe

case $case in
ops)
	if ! "$TORN" record -q -o "$work/t.trace" --root "$work/d" -- \
		"$OPS" ops "$work/d" "$work/status"; then
		echo "FAIL: torn record of uring_ops ops failed"; exit 1
	fi
	"$OPS" check "$work/t.trace" "$(cat "$work/status")" || {
		echo "FAIL: the io_uring events differ ($(cat "$work/status"))"; exit 1; }
	info=$("$TORN" info "$work/t.trace") || { echo "FAIL: torn info"; exit 1; }
	n=$(echo "$info" | sed -n 's/^unsupported (seen, not modelled): *\([0-9]*\).*/\1/p')
	want=1; grep -q sqpoll=1 "$work/status" && want=2
	[ "${n:-0}" -eq "$want" ] || {
		echo "FAIL: torn info reports ${n:-no} unsupported events, expected $want"
		echo "$info"; exit 1; }
	out=$("$TORN" explore "$work/t.trace" --strategy sync --check true 2>&1)
	echo "$out" | grep -q "not recorded: io_uring opcode 37 is not modelled" || {
		echo "FAIL: torn explore does not warn of the unmodelled operation:"
		echo "$out" | head; exit 1; }
	echo "ok: uring ops ($(cat "$work/status")), torn info: $n unsupported";;
bad|good|spin)
	if ! "$TORN" record -q -o "$work/t.trace" --root "$work/d" -- \
		"$OPS" commit "$work/d" "$case" 8; then
		echo "FAIL: torn record of uring_ops commit $case failed"; exit 1
	fi
	out=$("$TORN" explore "$work/t.trace" --strategy sync,prefix,torn,reorder:2 --seed 1 \
		-q --timeout 20 --check "$OPS verify ." 2>&1)
	rc=$?
	echo "$out" | grep -E 'states checked|outcomes' | head -2
	if [ $case = bad ] && [ $rc != 1 ]; then
		echo "FAIL: write and fsync in one batch without a link: explore exited $rc, expected 1"
		echo "$out" | head -20; exit 1
	fi
	if [ $case != bad ] && [ $rc != 0 ]; then
		echo "FAIL: linked write and fsync: explore exited $rc, expected 0"
		echo "$out" | head -20; exit 1
	fi
	echo "ok: commit $case";;
*) echo "usage: uring_test.sh ops|bad|good"; exit 2;;
esac
exit 0
