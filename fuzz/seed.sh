#!/bin/sh
# Writes the seed corpus of one fuzz target into a directory.
set -eu
t=$1 dir=$2
case $t in
header)
	i=0
	for f in '[%s:%06u %n:%i:%T:%F:%l] ' '[%s.%06u00 %n:%I:%T %B %F %l]' \
	    '[%D<%Y-%m-%d %T>:%06u %n %F %l]' '[%s:%06u %n:%I:%T %B %F %l] ' '%-10n|%5L|%x%D'; do
		i=$((i + 1)); printf '%s' "$f" > "$dir/fmt$i"
	done
	# a builtin-shaped format, a NUL, then a real line of that shape
	printf '[%%s:%%06u %%n:%%i:%%T:%%F:%%l] \000[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:639] x' > "$dir/fmtline1"
	printf '[%%s.%%06u00 %%n:%%I:%%T %%B %%F %%l]\000[1547659910.15902000 msflushthr5:7f1c1affd700:bmap bflush.c bmap_flush 765]x' > "$dir/fmtline2"
	printf '[%%s:%%06u %%n:%%I:%%T %%F %%B %%l] \000[1330000000:000500 msfsthr05:0x8021f3c00:mem msl_write io.c 320] x' > "$dir/fmtline3"
	# lines of local layouts, whose format is inferred
	printf '[1462300000.12345600 x-- msflushthr1:7f1c1affd700:bmap bflush.c msflushthr_main 886]r' > "$dir/infer1"
	printf '[@1458400001.1234500 h1 t:0x801c15400:mem a.h f 67 9] x' > "$dir/infer2" ;;
parser)
	for f in testdata/*.log testdata/bad/*.log; do
		[ -f "$f" ] && head -c 60000 "$f" > "$dir/$(basename "$f")"
	done
	# the constructed lines of every layout (syslog forms, %I pointers, ...)
	for f in testdata/lines/*.lines; do
		[ -f "$f" ] && sed -n 's/^> //p' "$f" > "$dir/$(basename "$f" .lines).lines"
	done ;;
gz)
	for f in testdata/bad/*.gz testdata/seed-excerpt.log; do
		[ -f "$f" ] && cp "$f" "$dir/"
	done ;;
workload)
	for f in testdata/*.wl testdata/*/*.wl; do
		[ -f "$f" ] && cp "$f" "$dir/"
	done
	printf '# flushscope workload 1\n' > "$dir/min" ;;
esac
exit 0
