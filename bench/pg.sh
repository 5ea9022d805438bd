#!/bin/sh
# bench/pg.sh: ingest into a PostgreSQL server, against SQLite, and many
# ingesters into one server at once.
#
#   sh bench/pg.sh [LINES]        (default 5000000, about 750 MB)
#
# The era-A log of bench/gen_era_a.c (deterministic, as bench/ingest.sh), and
# a throw-away server (tests/pg.sh with FS_PG_DURABLE=1: fsync on, the
# server's defaults; a Unix socket, no TCP).  Measures, one run each:
#  1. the log's first 400 000 lines into SQLite and into the server, side by
#     side: into a new database (the schema made by the run), then again into
#     a database that has the schema (steady state); the ratio server/SQLite
#     (target: at most 2);
#  2. the LINES-line log by 1, 2 and 4 ingesters at once into one server
#     database, each as its own client (--client cN, so each is a source):
#     wall time and lines per second over all of them.
# Environment: BENCH_DIR (work directory, default a fresh one under /tmp), FS
# (the flushscope binary).  It loops nothing; run it on an idle machine.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${FS_PG_DIR:-}" ]; then
	FS_PG_DURABLE=1 exec sh "$HERE/../tests/pg.sh" sh "$0" "$@"
fi
LINES=${1:-5000000}
FS=${FS:-$HERE/../flushscope}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/fs-bench-pg.XXXXXX)}
CC=${CC:-cc}
LOG=$DIR/era-a.log
SMALL=$DIR/era-a-400k.log
PSQL="env PGOPTIONS=-cclient_min_messages=warning $FS_PG_BIN/psql -X -q -At"

[ -x "$FS" ] || { echo "bench: build first (make all): $FS missing" >&2; exit 3; }
if command -v ldd > /dev/null 2>&1 && ldd "$FS" 2>/dev/null | grep -q libasan; then
	echo "bench: $FS is a sanitizer build (make SANITIZE=...): rm flushscope; make all" >&2
	exit 3
fi
mkdir -p "$DIR"
$CC -O2 -o "$DIR/gen_era_a" "$HERE/gen_era_a.c"
if [ ! -s "$LOG" ] || [ "$(cat "$DIR/lines" 2>/dev/null)" != "$LINES" ]; then
	"$DIR/gen_era_a" -n "$LINES" -s 7 | head -n "$LINES" > "$LOG"
	echo "$LINES" > "$DIR/lines"
fi
head -n 400000 "$LOG" > "$SMALL"
cat "$LOG" "$SMALL" > /dev/null		# the same page-cache state for every run
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"

now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{ printf "%.3f", $1 - $2 }'; }
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }'; }
# newdb NAME: an empty server database; its URI (credentials: PGHOST, PGUSER)
newdb() {
	$PSQL -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
	echo "postgresql:///$1"
}
# timed NAME CMD...: runs CMD, sets T_NAME to its wall seconds
timed() {
	name=$1; shift
	t=$(now)
	"$@" > /dev/null
	eval "T_$name=$(elapsed "$t")"
}

# 1. 400 000 lines, SQLite and the server side by side
rm -f "$DIR/s.db" "$DIR/s.db-wal" "$DIR/s.db-shm"
U=$(newdb bench_small)
timed sqlite_new "$FS" ingest -q -d "$DIR/s.db" "$SMALL"
timed pg_new "$FS" ingest -q -d "$U" "$SMALL"
# steady state: the schema is there (a database that held this log, emptied)
sqlite3 "$DIR/s.db" "DELETE FROM sources; DELETE FROM rpcs; DELETE FROM writes;
    DELETE FROM bmap_states; DELETE FROM forced; DELETE FROM episodes;
    DELETE FROM series; DELETE FROM bmap_series; DELETE FROM thread_stats;
    DELETE FROM threads; DELETE FROM bmaps; DELETE FROM unparsed; DELETE FROM lines;
    VACUUM"
$PSQL -d bench_small -c "TRUNCATE sources, rpcs, writes, bmap_states, forced, episodes,
    series, bmap_series, thread_stats, threads, bmaps, unparsed, lines RESTART IDENTITY"
timed sqlite_warm "$FS" ingest -q -d "$DIR/s.db" "$SMALL"
timed pg_warm "$FS" ingest -q -d "$U" "$SMALL"
n_s=$(sqlite3 "$DIR/s.db" "SELECT lines FROM sources")
n_p=$($PSQL -d bench_small -c "SELECT lines FROM sources")
[ "$n_s" = 400000 ] && [ "$n_p" = 400000 ] ||
	{ echo "bench: stored $n_s (SQLite) and $n_p (server) lines, not 400000" >&2; exit 1; }
echo "400000 lines ($(wc -c < "$SMALL") bytes): ingest wall seconds"
printf '%-30s %8s %8s %14s\n' database SQLite server server/SQLite
printf '%-30s %8s %8s %14s\n' "new (schema made by the run)" "$T_sqlite_new" "$T_pg_new" \
    "$(ratio "$T_pg_new" "$T_sqlite_new")"
printf '%-30s %8s %8s %14s\n' "with its schema" "$T_sqlite_warm" "$T_pg_warm" \
    "$(ratio "$T_pg_warm" "$T_sqlite_warm")"
echo "(target: server/SQLite at most 2)"

# 2. LINES lines by 1, 2 and 4 ingesters at once into one server database
echo
echo "$LINES lines ($(wc -c < "$LOG") bytes) per ingester, each its own client, into one server:"
printf '%-10s %10s %14s %14s\n' ingesters wall-s "lines/s total" "lines/s each"
for n in 1 2 4; do
	U=$(newdb bench_fleet)		# the first ingesters make its schema, once
	t=$(now)
	i=1
	pids=""
	while [ "$i" -le "$n" ]; do
		"$FS" ingest -q -d "$U" --client "c$i" "$LOG" &
		pids="$pids $!"
		i=$((i + 1))
	done
	for p in $pids; do
		wait "$p" || { echo "bench: an ingester failed" >&2; exit 1; }
	done
	w=$(elapsed "$t")
	got=$($PSQL -d bench_fleet -c "SELECT count(*) || ' ' || sum(lines) FROM sources")
	[ "$got" = "$n $((n * LINES))" ] ||
		{ echo "bench: the server holds '$got' (sources, lines), not $n $((n * LINES))" >&2; exit 1; }
	echo "$n $w $LINES" | awk '{ printf "%-10d %10.2f %14.0f %14.0f\n", $1, $2, $1 * $3 / $2,
	    $3 / $2 }'
done
[ -n "${BENCH_DIR:-}" ] || rm -rf "$DIR"
