#!/bin/sh
# tests/layers.sh: fails when an #include runs against the layer order.
#
#   util -> parsers, libflush -> store, detect -> report, ingest, live, replay -> cmd
#
# A file may include headers of its own folder and of folders on a lower
# layer; never of a folder on its own layer or above.  Run by `make check`.
# Usage: sh tests/layers.sh [ROOT]   (ROOT: the tree to check; default this one)
set -eu
cd "${1:-$(dirname "$0")/..}"

rank() {
	case "$1" in
	util) echo 0 ;;
	parsers|libflush) echo 1 ;;
	store|detect) echo 2 ;;
	report|ingest|live|replay) echo 3 ;;
	cmd) echo 4 ;;
	.) echo 5 ;;
	*) echo "" ;;
	esac
}

bad=0
for f in util/*.[ch] parsers/*.[ch] libflush/*.[ch] store/*.[ch] detect/*.[ch] \
    report/*.[ch] ingest/*.[ch] live/*.[ch] replay/*.[ch] cmd/*.[ch] flushscope.c; do
	[ -f "$f" ] || continue
	own=$(dirname "$f")
	r=$(rank "$own")
	for inc in $(sed -n 's/^#include "\([a-z]*\)\/.*"/\1/p' "$f" | sort -u); do
		[ "$inc" = "$own" ] && continue
		ri=$(rank "$inc")
		if [ -z "$ri" ]; then
			echo "layers: $f includes $inc/, a folder outside the layers" >&2
			bad=1
		elif [ "$ri" -ge "$r" ]; then
			echo "layers: $f ($own, layer $r) includes $inc/ (layer $ri)" >&2
			bad=1
		fi
	done
done
[ "$bad" -eq 0 ] && echo "layers: every #include runs down the layers"
exit "$bad"
