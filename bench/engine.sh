#!/bin/sh
# libflush engine benchmark (run by `make bench`, never by `make check`).
#  1. virtual-time engine speed: discrete events per second of the event
#     loop, per policy, on a busy parametric workload (target >= 2 M/s: the
#     historical passes walk and cost every unsent biorq, as the client
#     logged each; at 500 000 writes/s legacy falls behind and its passes
#     grow long);
#  2. real clock, side by side in one run: flush-thread CPU of the six
#     policies on the seed-like workload (2 bmaps, bursts
#     of 75 x 1 MiB writes, replies in 20-40 ms), with ready->issue p99,
#     and the ratios against legacy (target: deadline >= 95 % less CPU,
#     p99 no worse).
# Environment: FS_BIN (default ./flushscope), BENCH_SECONDS (default 4),
# BENCH_ROUNDS (default 3; the real-clock runs are interleaved, medians shown).
set -eu
BIN=${FS_BIN:-./flushscope}
SECS=${BENCH_SECONDS:-4}
[ -x "$BIN" ] || { echo "bench/engine.sh: $BIN not built (run make)" >&2; exit 3; }

stat_of() { awk -v k="$1" '$1 == k { print $2 }'; }

echo "virtual clock: engine speed (16 files x 8 bmaps, 32 KiB writes at 500000/s for 4 s, window 1024)"
echo "(loop only: input generation and percentile sorting excluded; per CPU second and per wall second)"
printf '%-9s %12s %10s %14s %14s\n' policy events cpu_s "M events/cpu-s" "M events/wall-s"
speed() {
	out=$("$BIN" synth --policy "$1" --era none --stats --files "$2" --bmaps 8 \
	    --rate "$3" --duration 4s --rpc-latency uniform:1ms:5ms --outstanding 1024 2>&1 >/dev/null)
	ev=$(echo "$out" | stat_of events)
	ns=$(echo "$out" | stat_of wall_ns)
	cpu=$(echo "$out" | stat_of proc_cpu_ns)
	awk -v p="$1" -v e="$ev" -v n="$ns" -v c="$cpu" -v x="$4" 'BEGIN {
		if (c < 1) c = 1
		printf "%-9s %12d %10.3f %14.2f %14.2f %s\n", p, e, c / 1e9, e / c * 1e3, e / n * 1e3, x }'
}
for p in legacy 2010-10 2011-08 pendq deadline; do
	speed "$p" 16 500000 ""
done
# head's 16 threads examine every queued bmap on each wake (as HEAD does): smaller run
speed head 1 100000 "  (1 file x 8 bmaps, 100000 writes/s)"

echo
ROUNDS=${BENCH_ROUNDS:-3}
echo "real clock: seed-like workload, ${SECS} s per run, ${ROUNDS} interleaved rounds, medians"
echo "(2 bmaps, 75 x 1 MiB writes together every second, replies 20-40 ms)"
TMP=${TMPDIR:-/tmp}/flushscope-bench.$$
trap 'rm -f "$TMP".*' EXIT
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for p in legacy 2010-10 2011-08 head pendq deadline; do
		"$BIN" synth --clock real --policy "$p" --era none --stats --duration "${SECS}s" \
		    --files 1 --bmaps 2 --write-size 1048576 --burst 75 --burst-gap 0 --rate 75 \
		    --rpc-latency uniform:20ms:40ms 2>"$TMP.$p.$r" >/dev/null
	done
	r=$((r + 1))
done
# one line per policy: medians over the rounds
for p in legacy 2010-10 2011-08 head pendq deadline; do
	for k in flush_cpu_ns ready_issue.p99 wakeups wasted flush_nvcsw flush_nivcsw; do
		v=$(cat "$TMP.$p".* | awk -v k="$k" '$1 == k { print $2 }' | sort -n |
		    awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
		printf '%s ' "$v"
	done
	echo "$p"
done > "$TMP.med"
awk '
{ cpu[$7] = $1; p99[$7] = $2; wk[$7] = $3; ws[$7] = $4; nv[$7] = $5; ni[$7] = $6; ord[NR] = $7 }
END {
	printf "%-9s %12s %8s %8s %8s %8s %9s %10s %9s\n", "policy", "flush_cpu_ms", "wakeups", "wasted", "nvcsw", "nivcsw", "cpu/leg", "p99_ms", "p99/leg"
	for (i = 1; i <= NR; i++) {
		p = ord[i]
		printf "%-9s %12.3f %8d %8d %8d %8d %9.4f %10.3f %9.3f\n", p, cpu[p] / 1e6, wk[p], ws[p], nv[p], ni[p],
		    cpu["legacy"] ? cpu[p] / cpu["legacy"] : 0, p99[p] / 1e6, p99["legacy"] ? p99[p] / p99["legacy"] : 0
	}
	lc = cpu["legacy"]; dc = cpu["deadline"]; lp = p99["legacy"]; dp = p99["deadline"]
	saved = 0
	if (lc > 0)
		saved = 100 * (1 - dc / lc)
	verdict = "FAIL"
	if (saved >= 95)
		verdict = "PASS"
	# real-time "no worse": within max(0.5 ms, 5 %) of the baseline (design, Replay)
	tol = lp * 0.05
	if (tol < 500000)
		tol = 500000
	lat = "WORSE"
	if (dp <= lp + tol)
		lat = "no worse"
	printf "deadline vs legacy: %.1f %% less flush-thread CPU (target >= 95 %%): %s\n", saved, verdict
	printf "deadline ready->issue p99 %.3f ms vs legacy %.3f ms: %s (tolerance max(0.5 ms, 5 %%))\n", dp / 1e6, lp / 1e6, lat
}' "$TMP.med"
