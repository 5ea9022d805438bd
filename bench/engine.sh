#!/bin/sh
# libflush engine benchmark (run by `make bench`, never by `make check`).
#  1. virtual-time engine speed: discrete events per second of the event
#     loop (target >= 5 M/s), per policy, on a busy parametric workload;
#  2. real clock, side by side in one run: flush-thread CPU of legacy vs
#     pendq vs deadline vs slash2 on the seed-like workload (2 bmaps, bursts
#     of 75 x 1 MiB writes, replies in 20-40 ms), with ready->issue p99,
#     and the ratios against legacy (target: deadline >= 95 % less CPU,
#     p99 no worse).
# Environment: FS_BIN (default ./flushscope), BENCH_SECONDS (default 4).
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
	    --rate "$3" --duration 4 --rpc-latency uniform:1:5 --outstanding 1024 2>&1 >/dev/null)
	ev=$(echo "$out" | stat_of events)
	ns=$(echo "$out" | stat_of wall_ns)
	cpu=$(echo "$out" | stat_of proc_cpu_ns)
	awk -v p="$1" -v e="$ev" -v n="$ns" -v c="$cpu" -v x="$4" 'BEGIN {
		if (c < 1) c = 1
		printf "%-9s %12d %10.3f %14.2f %14.2f %s\n", p, e, c / 1e9, e / c * 1e3, e / n * 1e3, x }'
}
for p in legacy pendq deadline; do
	speed "$p" 16 500000 ""
done
# slash2 examines every queued bmap on each wake (as HEAD does): smaller run
speed slash2 1 100000 "  (1 file x 8 bmaps, 100000 writes/s)"

echo
echo "real clock: seed-like workload for ${SECS} s per policy (2 bmaps, 75 x 1 MiB every second, replies 20-40 ms)"
TMP=${TMPDIR:-/tmp}/flushscope-bench.$$
trap 'rm -f "$TMP".*' EXIT
for p in legacy pendq deadline slash2; do
	"$BIN" synth --clock real --policy "$p" --era none --stats --duration "$SECS" \
	    --files 1 --bmaps 2 --write-size 1048576 --burst 75 --burst-gap 0 --rate 75 \
	    --rpc-latency uniform:20:40 2>"$TMP.$p" >/dev/null
done
printf '%-9s %12s %8s %8s %10s %10s %8s %12s %12s\n' policy flush_cpu_ms wakeups wasted nvcsw nivcsw "cpu/leg" "p99_ms" "p99/leg"
for p in legacy pendq deadline slash2; do
	awk -v p="$p" -v lf="$TMP.legacy" '
	function get(f, k,   l, a) { while ((getline l < f) > 0) { split(l, a, " "); if (a[1] == k) { close(f); return a[2] } } close(f); return 0 }
	BEGIN {
		f = lf; sub(/legacy$/, p, f)
		cpu = get(f, "flush_cpu_ns"); lcpu = get(lf, "flush_cpu_ns")
		p99 = get(f, "ready_issue.p99"); lp99 = get(lf, "ready_issue.p99")
		printf "%-9s %12.3f %8d %8d %10d %10d %8.4f %12.3f %12.3f\n", p, cpu / 1e6,
		    get(f, "wakeups"), get(f, "wasted"), get(f, "flush_nvcsw"), get(f, "flush_nivcsw"),
		    lcpu ? cpu / lcpu : 0, p99 / 1e6, lp99 ? p99 / lp99 : 0
	}'
done
awk -v lf="$TMP.legacy" -v df="$TMP.deadline" '
function get(f, k,   l, a) { while ((getline l < f) > 0) { split(l, a, " "); if (a[1] == k) { close(f); return a[2] } } close(f); return 0 }
BEGIN {
	lc = get(lf, "flush_cpu_ns"); dc = get(df, "flush_cpu_ns")
	lp = get(lf, "ready_issue.p99"); dp = get(df, "ready_issue.p99")
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
}'
