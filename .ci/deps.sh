#!/bin/sh
# Makes sure the Debian packages flushscope builds against are installed.
# As root it installs what is missing with apt-get; otherwise it prints the
# exact command to run and fails.
set -u
need="libpcre2-dev libsqlite3-dev sqlite3 libpq-dev postgresql libncurses-dev check libsubunit-dev zlib1g-dev pkg-config mandoc"
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 && apt-get install -y -qq $missing >&2 && exit 0
	echo "deps: apt-get failed; run: apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: missing packages; run: sudo apt-get install -y$missing" >&2
exit 1
