#!/bin/sh
# bench/ingest.sh: ingest speed against the usual tools, measured side by
# side in one run on one generated era-A log.
#
#   sh bench/ingest.sh [LINES]        (default 5000000, about 750 MB)
#
# Generates the log with bench/gen_era_a.c (deterministic), then times
# `wc -l`, `grep -c 'try flush'`, lnav's index with a hand-made era-A
# format (when lnav is installed) and
# `flushscope ingest`, and prints each time with its ratio to ingest, plus
# ingest's lines/s and peak resident memory.  Environment: BENCH_DIR (work
# directory, default a fresh one under /tmp), FS (the flushscope binary).
set -eu

LINES=${1:-5000000}
HERE=$(cd "$(dirname "$0")" && pwd)
FS=${FS:-$HERE/../flushscope}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/fs-bench-ingest.XXXXXX)}
CC=${CC:-cc}
LOG=$DIR/era-a.log
DB=$DIR/bench.db

[ -x "$FS" ] || { echo "bench: build first (make): $FS missing" >&2; exit 3; }
mkdir -p "$DIR"
$CC -O2 -o "$DIR/gen_era_a" "$HERE/gen_era_a.c"
if [ ! -s "$LOG" ] || [ "$(cat "$DIR/lines" 2>/dev/null)" != "$LINES" ]; then
	"$DIR/gen_era_a" -n "$LINES" -s 7 | head -n "$LINES" > "$LOG"
	echo "$LINES" > "$DIR/lines"
fi
SIZE=$(wc -c < "$LOG")

# now: seconds since the epoch with nanoseconds
now() { date +%s.%N; }
# elapsed START: seconds since START
elapsed() { echo "$(now) $1" | awk '{ printf "%.3f", $1 - $2 }'; }

cat "$LOG" > /dev/null		# same page-cache state for every tool

t=$(now); n_wc=$(wc -l < "$LOG"); T_WC=$(elapsed "$t")
t=$(now); n_grep=$(grep -c 'try flush' "$LOG"); T_GREP=$(elapsed "$t")
T_LNAV=""
if command -v lnav > /dev/null 2>&1; then
	# lnav with a hand-made format for era A (bench/lnav-slash2-era-a.json),
	# installed into a private HOME so the user's lnav setup is untouched
	mkdir -p "$DIR/lnavhome"
	HOME=$DIR/lnavhome lnav -i "$HERE/lnav-slash2-era-a.json" > /dev/null 2>&1 || true
	t=$(now)
	n_lnav=$(HOME=$DIR/lnavhome lnav -n -c ';SELECT count(*) FROM all_logs' "$LOG" \
	    2>/dev/null | tail -1 | tr -d ' ' || true)
	T_LNAV=$(elapsed "$t")
fi

rm -f "$DB" "$DB-wal" "$DB-shm"
TIMEF=$DIR/time.out
if [ -x /usr/bin/time ]; then
	t=$(now)
	/usr/bin/time -v -o "$TIMEF" "$FS" ingest -q -d "$DB" --format=json "$LOG" > "$DIR/ingest.json"
	T_ING=$(elapsed "$t")
	RSS_KB=$(awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }' "$TIMEF")
else
	t=$(now)
	"$FS" ingest -q -d "$DB" --format=json "$LOG" > "$DIR/ingest.json"
	T_ING=$(elapsed "$t")
	RSS_KB="?"
fi
n_ing=$(sed 's/.*"lines":\([0-9]*\).*/\1/' "$DIR/ingest.json")
unparsed=$(sed 's/.*"unparsed":\([0-9]*\).*/\1/' "$DIR/ingest.json")
episodes=$(sed 's/.*"episodes":\([0-9]*\).*/\1/' "$DIR/ingest.json")

echo "input: $LOG, $n_wc lines, $SIZE bytes; 'try flush' lines: $n_grep"
printf '%-34s %8s %16s\n' tool seconds "ingest/tool"
ratio() { echo "$T_ING $1" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }'; }
printf '%-34s %8s %16s\n' "wc -l" "$T_WC" "$(ratio "$T_WC")"
printf '%-34s %8s %16s\n' "grep -c 'try flush'" "$T_GREP" "$(ratio "$T_GREP")"
if [ -n "$T_LNAV" ]; then
	printf '%-34s %8s %16s   (count: %s)\n' "lnav -n -c ';SELECT count(*)...'" \
	    "$T_LNAV" "$(ratio "$T_LNAV")" "$n_lnav"
else
	echo "lnav: not installed, skipped"
fi
printf '%-34s %8s %16s\n' "flushscope ingest" "$T_ING" "1.00"
echo "$n_ing $T_ING" | awk '{ printf "ingest: %d lines in %.3f s = %.2f M lines/s", $1, $2, $1 / $2 / 1e6 }'
echo ", unparsed $unparsed, spin episodes $episodes, peak RSS ${RSS_KB} kB (target >= 2 M lines/s, < 65536 kB)"
[ "$n_ing" = "$n_wc" ] || { echo "bench: ingest stored $n_ing lines, wc says $n_wc" >&2; exit 1; }
[ -n "${BENCH_DIR:-}" ] || rm -rf "$DIR"
