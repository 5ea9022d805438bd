#!/bin/sh
# .ci/pgo-train.sh: the training run of the profile-guided build (a build
# step, like .ci/deps.sh, not a benchmark).
#
#   sh .ci/pgo-train.sh FLUSHSCOPE GEN_ERA_A DIR
#
# The Makefile (PGO=1, the default of a plain build) runs it with an
# instrumented flushscope; the counts that program leaves behind decide how
# gcc lays out and inlines the final one.  It runs what users run most, on
# every path that matters for speed: a generated era-A log ingested on the
# sequential path (ingest's default on two cores) and searched for spins on
# the parallel one, the same log compressed, logs of eras B, C and Z from
# the engine (synth), spins from a database, and a replay under all six
# policies.  Paths it does not run are still optimised as usual
# (-fprofile-partial-training), only not favoured.  Scratch files go to DIR,
# which is emptied first.  Any failure fails the build: a training run that
# did not run would silently make a slower program.
set -eu
FS=$1
GEN=$2
DIR=$3
HERE=$(cd "$(dirname "$0")" && pwd)

rm -rf "$DIR"
mkdir -p "$DIR"
"$GEN" -n 300000 -s 7 > "$DIR/a.log"
"$FS" ingest -q -d "$DIR/a.db" --jobs 1 "$DIR/a.log"
"$FS" spins --jobs 2 "$DIR/a.log" > /dev/null
head -n 50000 "$DIR/a.log" | gzip -1 > "$DIR/a.log.gz"
"$FS" ingest -q -d "$DIR/gz.db" "$DIR/a.log.gz"
for p in 2010-10 2011-08 head; do
	"$FS" synth --policy "$p" --duration 1s > "$DIR/$p.log"
	"$FS" ingest -q -d "$DIR/eras.db" "$DIR/$p.log"
done
"$FS" spins -d "$DIR/eras.db" > /dev/null
"$FS" ingest -q -d "$DIR/sample.db" "$HERE/../testdata/sample.log"
"$FS" replay -d "$DIR/sample.db" --policy legacy,2010-10,2011-08,head,pendq,deadline > /dev/null
rm -rf "$DIR"
