#!/bin/sh
# bench/ingest.sh: `flushscope ingest` and `flushscope spins` against the
# usual tools, measured side by side on one generated era-A log, in one run.
#
#   sh bench/ingest.sh [LINES]        (default 5000000, about 750 MB)
#
# Generates the log with bench/gen_era_a.c (deterministic) and its .gz
# (gzip -6), then times, in RUNS interleaved rounds (default 3; medians are
# printed): wc -l, grep -c 'try flush', pcre2grep -c with the header regex
# (below), zcat FILE.gz | wc -l, lnav's index with a hand-made era-A format
# (when lnav is installed), flushscope ingest of FILE (default --jobs, then
# --jobs 1) and of FILE.gz, flushscope spins FILE (default --jobs, then
# --jobs 1), and (when the sqlite3 shell is installed) sqlite3 itself
# storing the rows that ingest stored: INSERT ... SELECT from the ingest's
# database into an empty one with the same schema and pragmas, a
# transaction per table.  Prints wall and CPU seconds and peak RSS of each,
# an estimated floor for ingest with today's parser, detector and SQLite
# (the CPU seconds of spins --jobs 1, which parses and detects as ingest
# does, plus those of sqlite3 storing the rows, spread over the cores with
# none idle; an estimate, not a strict bound: the shell's copy also reads
# the rows, and took 11 % more instructions than ingest's writer on a
# 200 k-line log, callgrind), the ratios
# of the targets of issue 17 (the ratio of the medians, which the targets
# name, and beside it the median of each round's own ratio: this machine's
# speed drifts by tens of percent between rounds, and a round's two runs
# are seconds apart), and checks that the default ingest, and one with two
# parser threads (--jobs 2, untimed: on two cores ingest's default is 1),
# stored exactly what --jobs 1 stored (st_dump, bench/stdump.c).
#
# Everything runs under nice.  Environment: RUNS, JOBS (--jobs for the
# default runs; default: flushscope's own), BENCH_DIR (work directory kept
# between runs; default a fresh one under /tmp, removed at the end), FS
# (the flushscope binary), NICE (default 10).
set -eu

if [ -z "${FS_BENCH_NICED:-}" ]; then
	FS_BENCH_NICED=1 exec nice -n "${NICE:-10}" sh "$0" "$@"
fi

LINES=${1:-5000000}
RUNS=${RUNS:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
FS=${FS:-$HERE/../flushscope}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/fs-bench-ingest.XXXXXX)}
CC=${CC:-cc}
LOG=$DIR/era-a.log
GZ=$DIR/era-a.log.gz
J=${JOBS:+--jobs $JOBS}

# The header regex: the pattern parsers/header.c compiles for era A's
# default format '[%s:%06u %n:%i:%T:%F:%l] ' (ps_header_pattern();
# tests/check_source.c checks that this line still says the same).
HEADER_RE='^\[(?<sec>\d+):(?<usec>\d{6,}) (?<thread>[^\s:]+):(?<tid>\d+):(?<subsys>[^\s:]+):(?<func>[^\s:]+):(?<line>\d+)\] '

[ -x "$FS" ] || { echo "bench: build first (make): $FS missing" >&2; exit 3; }
if command -v ldd > /dev/null 2>&1 && ldd "$FS" 2>/dev/null | grep -q 'libasan\|libtsan'; then
	echo "bench: $FS is a sanitizer build (make SANITIZE=...): rm flushscope; make" >&2
	exit 3
fi
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is needed (apt-get install time)" >&2; exit 3; }
command -v pcre2grep > /dev/null 2>&1 ||
	{ echo "bench: pcre2grep is needed (apt-get install pcre2-utils)" >&2; exit 3; }
mkdir -p "$DIR"
$CC -O2 -o "$DIR/gen_era_a" "$HERE/gen_era_a.c"
# shellcheck disable=SC2046
$CC -O2 -I"$HERE/.." -o "$DIR/stdump" "$HERE/stdump.c" "$HERE/../build/libfscore.a" \
    $(pkg-config --libs sqlite3 libpcre2-8 zlib) -lpthread -lm
if [ ! -s "$LOG" ] || [ "$(cat "$DIR/lines" 2>/dev/null)" != "$LINES" ]; then
	"$DIR/gen_era_a" -n "$LINES" -s 7 | head -n "$LINES" > "$LOG"
	gzip -6 -c "$LOG" > "$GZ"
	echo "$LINES" > "$DIR/lines"
fi
[ -s "$GZ" ] || gzip -6 -c "$LOG" > "$GZ"
SIZE=$(wc -c < "$LOG")
GZSIZE=$(wc -c < "$GZ")
LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
CORES=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
HAVE_LNAV=0
if command -v lnav > /dev/null 2>&1; then
	# lnav with a hand-made format for era A (bench/lnav-slash2-era-a.json),
	# installed into a private HOME so the user's lnav setup is untouched
	mkdir -p "$DIR/lnavhome"
	HOME=$DIR/lnavhome lnav -i "$HERE/lnav-slash2-era-a.json" > /dev/null 2>&1 || true
	HAVE_LNAV=1
fi
rm -f "$DIR"/*.times "$DIR/store.sql"
# row_tables DB: the tables of DB's rows (all but the sources and the metadata)
row_tables() {
	sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type = 'table'
	    AND name NOT IN ('sources', 'fs_meta') AND name NOT LIKE 'sqlite%' ORDER BY name"
}
HAVE_SQLITE3=0
if command -v sqlite3 > /dev/null 2>&1; then
	HAVE_SQLITE3=1
	# ingest's schema with no rows, for sqlite3 to store the rows in
	head -n 1 "$LOG" > "$DIR/one.log"
	rm -f "$DIR/empty.db" "$DIR/empty.db-wal" "$DIR/empty.db-shm"
	"$FS" ingest -q -d "$DIR/empty.db" "$DIR/one.log" > /dev/null
	for t in $(row_tables "$DIR/empty.db"); do echo "DELETE FROM $t;"; done |
	    sqlite3 "$DIR/empty.db"
fi

# store_sql DB: the SQL that stores DB's rows (all but its sources) again,
# with the connection pragmas store/sqlite.c sets for writing (the WAL mode
# and the page size are the file's: empty.db, made by ingest, has them)
store_sql() {
	echo "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384;"
	echo "ATTACH '$1' AS o;"
	for t in $(row_tables "$1"); do
		# ids are new rowids, as ingest's are
		c=$(sqlite3 "$1" "SELECT group_concat(name, ', ') FROM pragma_table_info('$t')
		    WHERE NOT (pk = 1 AND name = 'id')")
		echo "BEGIN; INSERT INTO main.$t ($c) SELECT $c FROM o.$t; COMMIT;"
	done
}

# measure NAME CMD...: runs CMD (stdout to $DIR/NAME.out) and appends
# "wall cpu peak-rss-kB" to $DIR/NAME.times
measure() {
	name=$1; shift
	/usr/bin/time -f '%e %U %S %M' -o "$DIR/$name.time" "$@" > "$DIR/$name.out"
	awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$DIR/$name.time" >> "$DIR/$name.times"
}
# fresh DB: a database path with nothing at it
fresh() { rm -f "$1" "$1-wal" "$1-shm"; }

cat "$LOG" "$GZ" > /dev/null		# same page-cache state for every tool
r=0
while [ "$r" -lt "$RUNS" ]; do
	r=$((r + 1))
	measure wc wc -l "$LOG"
	measure grep grep -c 'try flush' "$LOG"
	measure pcre2grep pcre2grep -c "$HEADER_RE" "$LOG"
	measure zcat sh -c 'zcat "$1" | wc -l' sh "$GZ"
	if [ "$HAVE_LNAV" = 1 ]; then
		HOME=$DIR/lnavhome measure lnav lnav -n -c ';SELECT count(*) FROM all_logs' "$LOG"
	fi
	fresh "$DIR/par.db"
	# shellcheck disable=SC2086
	measure ingest "$FS" ingest -q -d "$DIR/par.db" --format=json $J "$LOG"
	if [ "$HAVE_SQLITE3" = 1 ]; then
		[ -s "$DIR/store.sql" ] || store_sql "$DIR/par.db" > "$DIR/store.sql"
		fresh "$DIR/store.db"
		cp "$DIR/empty.db" "$DIR/store.db"
		measure store sqlite3 -bail "$DIR/store.db" ".read $DIR/store.sql"
	fi
	fresh "$DIR/seq.db"
	measure ingest1 "$FS" ingest -q -d "$DIR/seq.db" --format=json --jobs 1 "$LOG"
	fresh "$DIR/gz.db"
	# shellcheck disable=SC2086
	measure ingestgz "$FS" ingest -q -d "$DIR/gz.db" --format=json $J "$GZ"
	# shellcheck disable=SC2086
	measure spins "$FS" spins $J "$LOG"
	measure spins1 "$FS" spins --jobs 1 "$LOG"
done

# median: the median of the numbers on stdin, to 2 decimals ("-" if none)
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2)
	    printf "%.2f\n", v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# med NAME FIELD: median of field FIELD (1 wall, 2 cpu) of NAME's runs; max for 3 (RSS)
med() {
	if [ "$2" = 3 ]; then
		awk '{ if ($3 > m) m = $3 } END { print m }' "$DIR/$1.times"
	else
		awk -v f="$2" '{ print $f }' "$DIR/$1.times" | median
	fi
}
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }'; }
# rmed A B: median over the rounds of A's wall time over B's in the same round
rmed() {
	paste -d ' ' "$DIR/$1.times" "$DIR/$2.times" |
	    awk '{ if ($4 > 0) printf "%.4f\n", $1 / $4 }' | median
}
verdict() { echo "$1 $2" | awk '{ print ($1 <= $2) ? "met" : "MISSED" }'; }

n_wc=$(awk '{ print $1 }' "$DIR/wc.out")
n_grep=$(cat "$DIR/grep.out")
n_re=$(cat "$DIR/pcre2grep.out")
n_ing=$(sed 's/.*"lines":\([0-9]*\).*/\1/' "$DIR/ingest.out")
n_gz=$(sed 's/.*"lines":\([0-9]*\).*/\1/' "$DIR/ingestgz.out")
episodes=$(sed 's/.*"episodes":\([0-9]*\).*/\1/' "$DIR/ingest.out")

echo "input: $LOG, $n_wc lines, $SIZE bytes ($GZSIZE as .gz); 'try flush' lines: $n_grep;" \
    "header regex matches: $n_re"
echo "machine: $CORES cores, load average before the run $LOAD; $RUNS interleaved rounds," \
    "medians; nice ${NICE:-10}; default runs: ${JOBS:+--jobs $JOBS}${JOBS:-flushscope's default --jobs}"
echo "header regex (pcre2grep -c): $HEADER_RE"
printf '%-46s %8s %8s %12s\n' tool wall-s cpu-s peak-RSS-kB
row() {
	printf '%-46s %8s %8s %12s\n' "$1" "$(med "$2" 1)" "$(med "$2" 2)" "$(med "$2" 3)"
}
row "wc -l FILE" wc
row "grep -c 'try flush' FILE" grep
row "pcre2grep -c HEADER_RE FILE" pcre2grep
row "zcat FILE.gz | wc -l" zcat
if [ "$HAVE_LNAV" = 1 ]; then
	row "lnav -n -c ';SELECT count(*) FROM all_logs'" lnav
else
	echo "lnav: not installed, skipped"
fi
row "flushscope ingest FILE" ingest
row "flushscope ingest --jobs 1 FILE" ingest1
row "flushscope ingest FILE.gz" ingestgz
row "flushscope spins FILE" spins
row "flushscope spins --jobs 1 FILE" spins1
if [ "$HAVE_SQLITE3" = 1 ]; then
	row "sqlite3 storing the rows ingest stored" store
else
	echo "sqlite3: not installed (apt-get install sqlite3), no floor estimate"
fi

W_ing=$(med ingest 1); W_spins=$(med spins 1); W_gz=$(med ingestgz 1)
W_re=$(med pcre2grep 1); W_zcat=$(med zcat 1)
rss=$(printf '%s\n%s\n%s\n' "$(med ingest 3)" "$(med ingestgz 3)" "$(med spins 3)" | sort -n | tail -1)
echo "ratios of medians (wall), and the median of the rounds' own ratios:"
printf '  %-36s %6s  (rounds %s)   target <= 1.5   %s\n' "ingest FILE / pcre2grep -c" \
    "$(ratio "$W_ing" "$W_re")" "$(rmed ingest pcre2grep)" \
    "$(verdict "$(ratio "$W_ing" "$W_re")" 1.5)"
printf '  %-36s %6s  (rounds %s)   target <= 1.5   %s\n' "spins FILE / pcre2grep -c" \
    "$(ratio "$W_spins" "$W_re")" "$(rmed spins pcre2grep)" \
    "$(verdict "$(ratio "$W_spins" "$W_re")" 1.5)"
printf '  %-36s %6s  (rounds %s)   target <= 1.15  %s\n' "ingest FILE.gz / zcat | wc -l" \
    "$(ratio "$W_gz" "$W_zcat")" "$(rmed ingestgz zcat)" \
    "$(verdict "$(ratio "$W_gz" "$W_zcat")" 1.15)"
printf '  %-36s %6s\n' "ingest FILE / wc -l" "$(ratio "$W_ing" "$(med wc 1)")"
printf '  %-36s %6s\n' "ingest FILE / grep -c" "$(ratio "$W_ing" "$(med grep 1)")"
[ "$HAVE_LNAV" = 1 ] && printf '  %-36s %6s\n' "ingest FILE / lnav" "$(ratio "$W_ing" "$(med lnav 1)")"
printf '  %-36s %6s\n' "ingest FILE / ingest --jobs 1" "$(ratio "$W_ing" "$(med ingest1 1)")"
printf '  %-36s %6s\n' "spins FILE / spins --jobs 1" "$(ratio "$W_spins" "$(med spins1 1)")"
if [ "$HAVE_SQLITE3" = 1 ]; then
	# the floor: parsing and detecting (spins --jobs 1: no parallel overhead)
	# and storing (sqlite3), each at its CPU cost, on every core at once
	fcpu=$(echo "$(med spins1 2) $(med store 2)" | awk '{ printf "%.2f", $1 + $2 }')
	floor=$(echo "$fcpu $CORES" | awk '{ printf "%.2f", $1 / $2 }')
	printf '  %-36s %6s  (%s s: CPU of spins --jobs 1 + of sqlite3 storing, over %s cores)\n' \
	    "estimated floor of ingest / pcre2grep" "$(ratio "$floor" "$W_re")" "$floor" "$CORES"
	printf '  %-36s %6s\n' "ingest FILE / that floor" "$(ratio "$W_ing" "$floor")"
	printf '  %-36s %6s  (ingest %s CPU-s, the floor %s: what ingest adds)\n' \
	    "ingest CPU / the floor's CPU" "$(ratio "$(med ingest 2)" "$fcpu")" "$(med ingest 2)" "$fcpu"
fi
printf '  %-36s %6s kB   target <= 65536   %s\n' "peak RSS (ingest, ingest .gz, spins)" \
    "$rss" "$(verdict "$rss" 65536)"
echo "$n_ing $W_ing" | awk '{ printf "ingest: %d lines in %.2f s = %.2f M lines/s", $1, $2, $1 / $2 / 1e6 }'
echo ", spin episodes $episodes"

status=0
[ "$n_ing" = "$n_wc" ] || { echo "bench: ingest stored $n_ing lines, wc says $n_wc" >&2; status=1; }
[ "$n_gz" = "$n_wc" ] || { echo "bench: ingest of the .gz stored $n_gz lines, wc says $n_wc" >&2; status=1; }
fresh "$DIR/par2.db"
"$FS" ingest -q -d "$DIR/par2.db" --jobs 2 "$LOG" > /dev/null
"$DIR/stdump" "$DIR/seq.db" > "$DIR/seq.dump"
"$DIR/stdump" "$DIR/par.db" > "$DIR/par.dump"
"$DIR/stdump" "$DIR/par2.db" > "$DIR/par2.dump"
if cmp -s "$DIR/seq.dump" "$DIR/par.dump" && cmp -s "$DIR/seq.dump" "$DIR/par2.dump"; then
	echo "database of the default ingest and of --jobs 2: equal to --jobs 1" \
	    "(st_dump, $(wc -l < "$DIR/seq.dump") rows)"
else
	echo "bench: the default ingest or --jobs 2 stored other rows than --jobs 1" >&2
	status=1
fi
if [ "$HAVE_SQLITE3" = 1 ]; then
	# the rows sqlite3 stored: the dump's, but for the sources it leaves out
	grep -vc '^sources|' "$DIR/par.dump" | awk -v cpu="$(med store 2)" '{ printf \
	    "sqlite3 stored %d rows in %.2f CPU-s = %.2f us a row\n", $1, cpu, cpu * 1e6 / $1 }'
fi
[ -n "${BENCH_DIR:-}" ] || rm -rf "$DIR"
exit $status
