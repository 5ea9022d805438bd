#!/bin/sh
# bench/top-db.sh: what recording costs `flushscope top --db`.
#
# One generated era-A log (bench/genlog.c, TOP_DB_LINES lines, default 1 M)
# is appended at TOP_DB_RATE lines/s (default 200 000) to a file that top
# follows, twice, side by side: without --db and with --db (commits every
# second).  For each run it prints top's CPU (user + system, all threads),
# the bytes top read (/proc/PID/io rchar: the log, plus the database pages
# with --db) against the bytes appended, and the ratio of the two CPUs.
# With --db every line must be stored exactly once (the database's line
# count is checked).
set -eu

BIN=${FS_BIN:-./flushscope}
N=${TOP_DB_LINES:-1000000}
RATE=${TOP_DB_RATE:-200000}
D=$(mktemp -d /tmp/fs-topdb-XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM

cc -O2 -o "$D/genlog" bench/genlog.c
"$D/genlog" -n "$N" > "$D/data.log"
N=$(wc -l < "$D/data.log")
SIZE=$(wc -c < "$D/data.log")
echo "data: $N lines, $SIZE bytes appended at $RATE lines/s"
ticks=$(getconf CLK_TCK)

# run NAME ARGS...: follows $D/NAME.log while the data is appended; sets
# CPU_NAME (seconds) and READ_NAME (bytes read)
run() {
	name=$1; shift
	: > "$D/$name.log"
	"$BIN" top -b -d 1 --rows 1 "$@" "$D/$name.log" > "$D/$name.out" &
	tp=$!
	sleep 0.3
	"$D/genlog" -f "$D/data.log" -r "$RATE" >> "$D/$name.log"
	i=0
	while ! grep -q "Lines: .*($N)" "$D/$name.out" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1.2	# one more interval: the last commit
	cpu=$(awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' /proc/$tp/stat)
	rd=$(awk '/^rchar/ { print $2 }' /proc/$tp/io)
	kill -TERM $tp
	wait $tp || true
	grep -q "Lines: .*($N)" "$D/$name.out" || { echo "FAIL: top ($name) did not see $N lines"; exit 1; }
	eval "CPU_$name=$cpu; READ_$name=$rd"
	printf '%-18s cpu %6s s   read %12s bytes (%.2f x appended)\n' "$name" "$cpu" "$rd" \
	    "$(awk -v r="$rd" -v s="$SIZE" 'BEGIN { printf "%.2f", r / s }')"
}

run plain
run db --db "$D/top.db" --db-interval 1s
STORED=$("$BIN" spins -d "$D/top.db" --format=json >/dev/null 2>&1; \
    sqlite3 "$D/top.db" 'SELECT sum(lines) FROM sources' 2>/dev/null || echo "?")
echo "lines stored by top --db: $STORED of $N"
awk -v a="$CPU_db" -v b="$CPU_plain" 'BEGIN { printf "CPU with --db / without: %.2f\n", a / (b > 0 ? b : 0.01) }'
