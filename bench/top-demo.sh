#!/bin/sh
# bench/top-demo.sh: flushscope top tried as a user would, in tmux.
#
# A generator (bench/genlog.c) writes a seed-like era-A log at a steady
# rate (RATE lines/s, passes every ~2 ms, 2 spinning bmaps among 4 busy
# ones); `flushscope top -d 1` follows it in a detached tmux session.  The
# script captures the pane after two refreshes and checks that the
# spinning bmaps are the first rows, then exercises keys (sort, threads
# view, filter, help, pause), a resize, and `q`, and checks that the
# terminal is back in canonical mode with echo.  Not part of `make check`
# (it needs tmux and takes ~10 s); run it by hand or with `make bench`.
set -eu

command -v tmux > /dev/null || { echo "top-demo: tmux not installed, skipped"; exit 0; }
BIN=$(cd "$(dirname "${FS_BIN:-./flushscope}")" && pwd)/$(basename "${FS_BIN:-./flushscope}")
RATE=${TOP_DEMO_RATE:-14000}
D=$(mktemp -d /tmp/fs-topdemo-XXXXXX)
S=fs-topdemo-$$
GP=
cleanup() {
	[ -n "$GP" ] && kill "$GP" 2> /dev/null || true
	tmux kill-session -t "$S" 2> /dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

cc -O2 -o "$D/genlog" bench/genlog.c
: > "$D/client.log"
"$D/genlog" -r "$RATE" -s 2 -B 4 -p 1500 >> "$D/client.log" &
GP=$!
tmux new-session -d -s "$S" -x 110 -y 24 \
	"$BIN top -d 1 $D/client.log; echo EXITED rc=\$?; stty -a > $D/stty; sleep 60"
cap() { tmux capture-pane -p -t "$S"; }

sleep 2.3			# two refreshes
cap > "$D/screen"
echo "--- after two refreshes"
cat "$D/screen"
# The first two table rows must be the spinning bmaps.
awk '/^FID:BNO/ { h = NR } h && NR > h && NR <= h + 2 && $8 != "SPIN" { bad = 1 }
	END { exit (h && !bad) ? 0 : 1 }' "$D/screen" ||
	{ echo "FAIL: spinning bmaps are not the first rows"; exit 1; }

tmux send-keys -t "$S" t; sleep 0.4
echo "--- t (threads view)"; cap | sed -n '6,8p'
tmux send-keys -t "$S" t '/' 1 0 0 2 Enter; sleep 0.4
echo "--- /1002 (filter)"; cap | sed -n '6,9p'
tmux send-keys -t "$S" '/' Escape '>'; sleep 0.4
echo "--- Esc, > (sort by the next column)"; cap | sed -n '7,9p'
tmux send-keys -t "$S" p; sleep 0.3
echo "--- p (pause)"; cap | sed -n '1p'
tmux send-keys -t "$S" p '?'; sleep 0.3
echo "--- ? (help)"; cap | sed -n '1,4p'
tmux send-keys -t "$S" x; tmux resize-window -t "$S" -x 80 -y 14; sleep 0.5
echo "--- resized to 80x14"; cap
tmux send-keys -t "$S" q; sleep 0.6
echo "--- q"; cap | grep EXITED
grep -q ' icanon' "$D/stty" && grep -q ' echo ' "$D/stty" ||
	{ echo "FAIL: terminal not restored"; exit 1; }
echo "terminal restored (icanon, echo)"
