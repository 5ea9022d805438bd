#!/bin/sh
# Replay benchmark (run by `make bench`, never by `make check`): a ~5 M-line
# era-A log written by `flushscope synth` (legacy, 8 bmaps, 10 000 writes/s),
# then, side by side in one run: `wc -l` of the log, `flushscope extract`
# (parse + extraction), and virtual-time `flushscope replay` of the extracted
# workload for legacy and deadline (target: under 5 s); then the database
# path: `flushscope ingest` of the log, `extract -d` and virtual-time
# `replay -d` of that database (target: a few seconds, < 300 MB).  Wall and CPU
# (user + sys) seconds and peak RSS (MB) are printed: on a shared machine the
# CPU column is the stable one.
# Environment: FS_BIN (default ./flushscope), BENCH_SECONDS (trace length, 115).
set -eu
BIN=${FS_BIN:-./flushscope}
SECS=${BENCH_SECONDS:-115}
[ -x "$BIN" ] || { echo "bench/replay.sh: $BIN not built (run make)" >&2; exit 3; }
[ -x /usr/bin/time ] || { echo "bench/replay.sh: needs /usr/bin/time" >&2; exit 3; }
T=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-replay.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

# step NAME CMD...: runs CMD (stdout to $T/out), appends "NAME wall cpu rss" to $T/times
step() {
	name=$1; shift
	/usr/bin/time -f "%e %U %S %M" -o "$T/t" "$@" > "$T/out"
	awk -v n="$name" '{ printf "%s\t%s\t%.2f\t%.0f\n", n, $1, $2 + $3, $4 / 1024 }' \
	    "$T/t" >> "$T/times"
}

"$BIN" synth --policy legacy --era A --seed 5 --duration "${SECS}s" --bmaps 8 --rate 10000 \
    --rpc-latency uniform:20ms:40ms > "$T/big.log"
: > "$T/times"
step "wc -l" wc -l "$T/big.log"
lines=$(awk '{ print $1 }' "$T/out")
step "extract (parse + workload)" "$BIN" -q extract "$T/big.log" -o "$T/big.wl"
step "replay legacy (virtual)" "$BIN" replay --policy legacy --workload "$T/big.wl"
grep "fidelity check" "$T/out" > "$T/fid" || true
step "replay deadline (virtual)" "$BIN" replay --policy deadline --workload "$T/big.wl"
step "replay legacy,deadline (virtual)" "$BIN" replay --policy legacy,deadline --workload "$T/big.wl"
step "ingest (log -> db)" "$BIN" ingest -q -d "$T/big.db" "$T/big.log"
step "extract -d (db -> workload)" "$BIN" -q extract -d "$T/big.db" -o "$T/db.wl"
step "replay -d legacy,deadline" "$BIN" replay --policy legacy,deadline -d "$T/big.db"
echo "log: $lines lines"
awk -F '\t' 'NR == 1 { w0 = $2; c0 = $3 > 0 ? $3 : 0.01 }
	NR == 1 { printf "%-34s %8s %8s %10s %8s\n", "step", "wall s", "cpu s", "cpu x wc",
	    "RSS MB" }
	{ printf "%-34s %8.2f %8.2f %10.1f %8d\n", $1, $2, $3, $3 / c0, $4 }' "$T/times"
cat "$T/fid"
