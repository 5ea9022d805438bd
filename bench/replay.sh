#!/bin/sh
# Replay benchmark (run by `make bench`, never by `make check`).
#  1. A 5 M-line busy era-A log from bench/gen_era_a.c: `wc -l`, `flushscope
#     extract` (parse + extraction), then a virtual-time replay of the
#     workload under all six policies in one run (target: under 10 s),
#     legacy's fidelity check and each policy's wake-ups against the lower
#     bound (target: deadline's efficiency at least 0.91, i.e. wake-ups
#     within 10 % of the bound, issue 14); then the database path: `ingest`,
#     `extract -d`, `replay -d legacy,deadline`.
#  2. Replay cost on overlapping writes (issue 15): 100 k, 200 k, 400 k and
#     2 M writes to 64 bmaps at random offsets in their first MiB, replayed
#     with the default policies (legacy, deadline); target: 400 k at most
#     6x the 100 k time, 2 M in seconds.
# Wall and CPU (user + sys) seconds and peak RSS (MB) are printed: on a
# shared machine the CPU column is the stable one.
# Environment: FS_BIN (default ./flushscope), BENCH_LINES (log lines, 5000000),
# CC (default cc), BENCH_OVERLAP ("100000 200000 400000 2000000").
set -eu
BIN=${FS_BIN:-./flushscope}
LINES=${BENCH_LINES:-5000000}
HERE=$(cd "$(dirname "$0")" && pwd)
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

# table: prints $T/times
table() {
	awk -F '\t' 'NR == 1 { printf "%-40s %8s %8s %8s\n", "step", "wall s", "cpu s", "RSS MB" }
		{ printf "%-40s %8.2f %8.2f %8d\n", $1, $2, $3, $4 }' "$T/times"
}

${CC:-cc} -O2 -o "$T/gen_era_a" "$HERE/gen_era_a.c"
"$T/gen_era_a" -n "$LINES" -s 7 | head -n "$LINES" > "$T/big.log"
: > "$T/times"
step "wc -l" wc -l "$T/big.log"
lines=$(awk '{ print $1 }' "$T/out")
step "extract (parse + workload)" "$BIN" -q extract "$T/big.log" -o "$T/big.wl"
step "replay, all six policies (virtual)" "$BIN" replay \
    --policy legacy,2010-10,2011-08,head,pendq,deadline --workload "$T/big.wl"
grep -A1 "fidelity check" "$T/out" > "$T/fid" || true
grep -E "^(wake-ups|efficiency|wasted examinations|ready->issue p99 )" "$T/out" > "$T/six" || true
step "ingest (log -> db)" "$BIN" ingest -q -d "$T/big.db" "$T/big.log"
step "extract -d (db -> workload)" "$BIN" -q extract -d "$T/big.db" -o "$T/db.wl"
step "replay -d legacy,deadline" "$BIN" replay --policy legacy,deadline -d "$T/big.db"
echo "log: $lines lines"
table
echo "policies: legacy 2010-10 2011-08 head pendq deadline"
cat "$T/six" "$T/fid"
awk '/^efficiency/ { e = $NF } END { if (e != "")
	printf "deadline efficiency %s (target >= 0.91: wake-ups within 10 %% of the bound)\n", e }' "$T/six"

# Overlapping writes: N writes to 64 bmaps, 1-20 us apart, each at a
# random offset in the bmap's first MiB, 1 B to 64 KiB long.
echo
echo "overlapping writes to 64 bmaps (replay --workload, default policies legacy,deadline)"
: > "$T/times"
for n in ${BENCH_OVERLAP:-100000 200000 400000 2000000}; do
	awk -v n="$n" 'BEGIN {
		srand(1); t = 0
		print "flushscope-workload 1"
		for (i = 0; i < n; i++) {
			t += 1 + int(rand() * 20)
			printf "%d write 1:%d %d %d\n", t, int(rand() * 64), int(rand() * 1048576),
			    1 + int(rand() * 65536)
		}
	}' > "$T/ov$n.wl"
	step "replay $n overlapping writes" "$BIN" replay --workload "$T/ov$n.wl"
done
table
awk -F '\t' '{ c[NR] = $3 } END { if (NR >= 3 && c[1] > 0)
	printf "400k / 100k CPU: %.1fx (target <= 6x)\n", c[3] / c[1] }' "$T/times"
