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
if command -v ldd > /dev/null 2>&1 && ldd "$FS" 2>/dev/null | grep -q libasan; then
	echo "bench: $FS is a sanitizer build (make SANITIZE=...): rm flushscope; make" >&2
	exit 3
fi
mkdir -p "$DIR"
$CC -O2 -o "$DIR/gen_era_a" "$HERE/gen_era_a.c"
if [ ! -s "$LOG" ] || [ "$(cat "$DIR/lines" 2>/dev/null)" != "$LINES" ]; then
	"$DIR/gen_era_a" -n "$LINES" -s 7 | head -n "$LINES" > "$LOG"
	echo "$LINES" > "$DIR/lines"
fi
SIZE=$(wc -c < "$LOG")
LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# now: seconds since the epoch with nanoseconds
now() { date +%s.%N; }
# elapsed START: seconds since START
elapsed() { echo "$(now) $1" | awk '{ printf "%.3f", $1 - $2 }'; }

cat "$LOG" > /dev/null		# same page-cache state for every tool

# measure NAME CMD...: runs CMD, records wall seconds (W_NAME), CPU seconds
# user+sys (C_NAME) and peak RSS in kB (M_NAME); stdout goes to $DIR/NAME.out
measure() {
	name=$1; shift
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%e %U %S %M' -o "$DIR/$name.time" "$@" > "$DIR/$name.out"
		read -r w u s m < "$DIR/$name.time"
		eval "W_$name=$w; C_$name=$(echo "$u $s" | awk '{ printf "%.2f", $1 + $2 }'); M_$name=$m"
	else
		t=$(now)
		"$@" > "$DIR/$name.out"
		eval "W_$name=$(elapsed "$t"); C_$name=-; M_$name=?"
	fi
}

measure wc wc -l "$LOG"
measure grep grep -c 'try flush' "$LOG"
HAVE_LNAV=0
if command -v lnav > /dev/null 2>&1; then
	# lnav with a hand-made format for era A (bench/lnav-slash2-era-a.json),
	# installed into a private HOME so the user's lnav setup is untouched
	mkdir -p "$DIR/lnavhome"
	HOME=$DIR/lnavhome lnav -i "$HERE/lnav-slash2-era-a.json" > /dev/null 2>&1 || true
	HOME=$DIR/lnavhome measure lnav lnav -n -c ';SELECT count(*) FROM all_logs' "$LOG"
	HAVE_LNAV=1
fi
rm -f "$DB" "$DB-wal" "$DB-shm"
measure ingest "$FS" ingest -q -d "$DB" --format=json "$LOG"

n_wc=$(awk '{ print $1 }' "$DIR/wc.out")
n_grep=$(cat "$DIR/grep.out")
n_ing=$(sed 's/.*"lines":\([0-9]*\).*/\1/' "$DIR/ingest.out")
unparsed=$(sed 's/.*"unparsed":\([0-9]*\).*/\1/' "$DIR/ingest.out")
episodes=$(sed 's/.*"episodes":\([0-9]*\).*/\1/' "$DIR/ingest.out")

echo "input: $LOG, $n_wc lines, $SIZE bytes; 'try flush' lines: $n_grep"
echo "load average before the run: $LOAD (2-core target assumes an idle machine)"
printf '%-34s %8s %12s %8s %12s\n' tool wall-s "ingest/tool" cpu-s "ingest/tool"
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }'; }
row() {
	eval "w=\$W_$2; c=\$C_$2"
	printf '%-34s %8s %12s %8s %12s\n' "$1" "$w" "$(ratio "$W_ingest" "$w")" "$c" \
	    "$(ratio "$C_ingest" "$c")"
}
row "wc -l" wc
row "grep -c 'try flush'" grep
if [ "$HAVE_LNAV" = 1 ]; then
	row "lnav -n -c ';SELECT count(*)...'" lnav
	echo "  (lnav counted $(tail -1 "$DIR/lnav.out" | tr -d ' ') lines)"
else
	echo "lnav: not installed, skipped"
fi
row "flushscope ingest" ingest
echo "$n_ing $W_ingest" | awk '{ printf "ingest: %d lines in %.2f s = %.2f M lines/s", $1, $2, $1 / $2 / 1e6 }'
echo ", unparsed $unparsed, spin episodes $episodes, peak RSS $M_ingest kB" \
    "(target >= 2 M lines/s, < 65536 kB)"
[ "$n_ing" = "$n_wc" ] || { echo "bench: ingest stored $n_ing lines, wc says $n_wc" >&2; exit 1; }
[ -n "${BENCH_DIR:-}" ] || rm -rf "$DIR"
