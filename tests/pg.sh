#!/bin/sh
# tests/pg.sh: runs a command beside a throw-away PostgreSQL server.
#
#   sh tests/pg.sh CMD [ARG...]
#
# initdb into a new temporary directory, pg_ctl start listening on a Unix
# socket in that directory only (listen_addresses='': no TCP), CMD with
#   FS_PG      conninfo of the server's "postgres" database (user fs, trust)
#   FS_PG_DIR  the socket directory (host= of a URI or conninfo)
#   FS_PG_BIN  the server's bin directory (psql, createdb)
# then the server is stopped and the directory removed, whatever CMD did;
# the exit status is CMD's.  As root the server runs as the unprivileged
# user nobody (PostgreSQL refuses root).  The server is for tests: no
# fsync (FS_PG_DURABLE=1: the defaults, for benchmarks), nothing kept.
# PGHOST and PGUSER are set too, so psql and postgresql:///NAME reach it
# (README's examples).  Used by `make check` and bench/pg.sh.
set -u

bindir=$(pg_config --bindir 2>/dev/null)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "pg.sh: no PostgreSQL server found (apt-get install postgresql)" >&2
	exit 1
fi

dir=$(mktemp -d /tmp/fs-pg-XXXXXX) || exit 1
as=""
if [ "$(id -u)" = 0 ]; then
	chown nobody "$dir"
	# from /: nobody may not enter the caller's directory (a mktemp -d
	# clone is 0700), and the server's tools said "could not change directory"
	as="env -C / runuser -u nobody --"
fi

stop() {
	$as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$dir"
}

if ! $as "$bindir/initdb" -D "$dir/data" -U fs --auth=trust -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1; then
	cat "$dir/initdb.log" >&2
	echo "pg.sh: initdb failed" >&2
	rm -rf "$dir"
	exit 1
fi
# FS_PG_DURABLE=1 (benchmarks): the server's default durability, fsync on
fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${FS_PG_DURABLE:-0}" = 1 ] && fast=""
if ! $as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' $fast \
    -c max_connections=60 -c shared_buffers=128MB" start >/dev/null; then
	cat "$dir/server.log" >&2
	echo "pg.sh: the server did not start" >&2
	stop
	exit 1
fi
trap 'stop; exit 130' INT TERM

FS_PG="host=$dir user=fs dbname=postgres"
FS_PG_DIR=$dir
FS_PG_BIN=$bindir
PGHOST=$dir
PGUSER=fs
export FS_PG FS_PG_DIR FS_PG_BIN PGHOST PGUSER
"$@"
rc=$?
stop
exit "$rc"
