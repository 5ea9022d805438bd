#!/bin/sh
# Spin detector throughput, side by side with the parser on the same lines.
# Generates an era-A log with spinning and progressing bmaps (LINES lines,
# default 1000000), then runs bench/spin_bench (best of 3 rounds each).
set -e
LINES=${LINES:-1000000}
O=${O:-build}
tmp=${TMPDIR:-/tmp}/fs-spinbench.$$
trap 'rm -f "$tmp.log" "$tmp.bin"' EXIT INT TERM
[ -f "$O/libfscore.a" ] || make -s "$O/libfscore.a"
cc -std=c11 -D_GNU_SOURCE -O2 -I. bench/spin_bench.c "$O/libfscore.a" \
	$(pkg-config --libs libpcre2-8 zlib 2>/dev/null) -lm -o "$tmp.bin"
awk -v lines="$LINES" 'BEGIN {
	t = 1282327206000000; n = 0; B = 24; pass = 0
	while (n < lines) {
		for (b = 1; b <= B && n < lines; b++) {
			ts = sprintf("%d:%06d", int(t / 1000000), t % 1000000)
			a = sprintf("0x%x", 8917808 + b * 4096)
			pre = sprintf("[%s msbflushthr:23667:bmap:bmap_flush:639] bmap@%s b:%x m:8259 i:80000002d907b opcnt=65 ", ts, a, b)
			print pre "try flush (outstandingRpcCnt=75)"; n++
			if ((pass + b) % 5 == 0) {
				printf("[%s msbflushthr:23667:gen:bmap_flush:706] biorq@0x7f95c4012a30 fl=530 o=0 l=32768 np=1 b=%s ts=1282327206:158850112 wsR try flush\n", ts, a)
				printf("[%s msbflushthr:23667:rpc:bmap_flush_create_rpc:224] req@0x7f95c40c3a00 x1412/t0 c0 o43->@12345-10.32.5.12@tcp10:30 lens 232/112 ref 1 res 0 ret 0 fl New:/0/0 replyc deadbeef rc 0/0 to=0 :: off=0 sz=32768 op=1\n", ts)
				n += 2
			}
			t += 15
		}
		for (b = 1; b <= B && n < lines; b++) {
			ts = sprintf("%d:%06d", int(t / 1000000), t % 1000000)
			a = sprintf("0x%x", 8917808 + b * 4096)
			if ((pass + b) % 97 == 0)
				printf("[%s msbflushthr:23667:bmap:bmap_flush:767] bmap@%s b:%x m:8195 i:80000002d907b opcnt=64 is clean, descheduling..\n", ts, a, b)
			else
				printf("[%s msbflushthr:23667:bmap:bmap_flush:754] bmap@%s b:%x m:8259 i:80000002d907b opcnt=65 restore to dirty list\n", ts, a, b)
			n++; t += 13
		}
		printf("[%d:%06d msbflushrpcthr:23668:rpc:bmap_flush_rpc_cb:179] req@0x7f95c40c3a00 x1412/t0 c0 o43->@12345-10.32.5.12@tcp10:30 lens 232/112 ref 1 res 0 ret 0 fl Interpret:R/0/0 replyc 0 rc 0/0 to=60 :: done (outstandingRpcCnt=74)\n", int(t / 1000000), t % 1000000)
		n++
		t += 2100 - 28 * B; pass++
	}
}' > "$tmp.log"
"$tmp.bin" "$tmp.log" 3
