#!/bin/sh
# bench/top.sh: can `flushscope top` keep up with a busy client log?
#
# Measured side by side in one run, on the same generated era-A log
# (bench/genlog.c: a 2010 flush loop with spinning and busy bmaps):
#   1. wc -l over the file (the reference: reading lines and nothing else);
#   2. flushscope top -b reading the file as fast as it can (stdin, to EOF):
#      lines/s, CPU share, max RSS, and the ratio to wc -l;
#   3. live: the file appended at RATE lines/s (default 1 M) while
#      flushscope top follows it; top's CPU share over the run, whether it
#      kept up (saw every line by the end), max RSS;
#   4. memory bound: max RSS for a log 4 times longer (same live bmaps)
#      must stay about the same.
# Knobs: TOP_BENCH_LINES (default 3000000), TOP_BENCH_RATE (default 1000000).
set -eu

BIN=${FS_BIN:-./flushscope}
N=${TOP_BENCH_LINES:-3000000}
RATE=${TOP_BENCH_RATE:-1000000}
D=$(mktemp -d /tmp/fs-topbench-XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM

cc -O2 -o "$D/genlog" bench/genlog.c
"$D/genlog" -n "$N" > "$D/data.log"
N=$(wc -l < "$D/data.log")
SIZE=$(wc -c < "$D/data.log")
echo "data: $N lines, $SIZE bytes (bench/genlog.c, era A, 2 spinning + 3 busy bmaps)"

now() { date +%s.%N; }
ticks=$(getconf CLK_TCK)

# 1. reference
cat "$D/data.log" > /dev/null	# warm the page cache for both readers
t0=$(now); wc -l < "$D/data.log" > /dev/null; t1=$(now)
WC=$(echo "$t0 $t1" | awk -v n="$N" '{ printf "%.0f", n / ($2 - $1) }')

# 2. top reading as fast as it can
/usr/bin/time -f '%e %U %S %M' -o "$D/time" "$BIN" top -b - < "$D/data.log" > "$D/out"
read -r E U S M < "$D/time"
grep -q "Lines: .*($N)" "$D/out" || { echo "FAIL: top did not count $N lines"; exit 1; }
TOP=$(awk -v n="$N" -v e="$E" 'BEGIN { printf "%.0f", n / (e > 0 ? e : 0.01) }')
printf '%-34s %12s lines/s\n' "wc -l (reference)" "$WC"
printf '%-34s %12s lines/s  cpu %s (%s lines per cpu-second)  maxrss %s KiB  ratio to wc -l %s\n' \
	"flushscope top -b - (to EOF)" "$TOP" \
	"$(awk -v u="$U" -v s="$S" -v e="$E" 'BEGIN { printf "%.0f%%", 100 * (u + s) / (e > 0 ? e : 0.01) }')" \
	"$(awk -v u="$U" -v s="$S" -v n="$N" 'BEGIN { printf "%.0f", n / (u + s > 0 ? u + s : 0.01) }')" \
	"$M" "$(awk -v a="$TOP" -v b="$WC" 'BEGIN { printf "%.2f", a / b }')"

# 3. live: append at RATE lines/s while top follows the file
: > "$D/live.log"
"$BIN" top -b -d 0.5 --rows 3 "$D/live.log" > "$D/live.out" &
TP=$!
sleep 0.3
w0=$(now)
c0=$(awk '{ print $14 + $15 }' /proc/$TP/stat)
"$D/genlog" -f "$D/data.log" -r "$RATE" >> "$D/live.log"
w1=$(now)
# Give top at most 5 s to show the last line, then measure and stop it.
i=0
while ! grep -q "Lines: .*($N)" "$D/live.out" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
w2=$(now)
c1=$(awk '{ print $14 + $15 }' /proc/$TP/stat)
HWM=$(awk '/VmHWM/ { print $2 }' /proc/$TP/status)
kill -TERM $TP; wait $TP || true
KEPT=no; grep -q "Lines: .*($N)" "$D/live.out" && KEPT=yes
awk -v c0="$c0" -v c1="$c1" -v t="$ticks" -v w0="$w0" -v w1="$w1" -v w2="$w2" \
	-v n="$N" -v kept="$KEPT" -v hwm="$HWM" 'BEGIN {
	cpu = (c1 - c0) / t; wall = w2 - w0;
	printf "%-34s %12.0f lines/s  cpu %.0f%% of one core over %.1f s  kept up: %s (caught up %.2f s after the writer)  maxrss %s KiB\n",
	    "live follow, appended", n / (w1 - w0), 100 * cpu / wall, wall, kept, w2 - w1, hwm }'

# 4. memory bound by live bmaps, not by lines
"$D/genlog" -n $((N * 4)) > "$D/big.log"
/usr/bin/time -f '%e %U %S %M' -o "$D/time4" "$BIN" top -b - < "$D/big.log" > /dev/null
read -r E4 U4 S4 M4 < "$D/time4"
printf '%-34s %s KiB for %s lines vs %s KiB for %s lines\n' "max RSS, 4x the lines" \
	"$M4" "$((N * 4))" "$M" "$N"

[ "$KEPT" = yes ] || { echo "FAIL: top did not keep up at $RATE lines/s"; exit 1; }
