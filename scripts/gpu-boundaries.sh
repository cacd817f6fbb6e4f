#!/usr/bin/env bash
# Issue 4's cold-JVM boundaries on the GPU machine, in one call (the device tool's copy of this
# tree, dist/ember-bundle.tar.xz carried): `cache` alone in a JVM of its own (a cold JVM), three
# ways interleaved, ROUNDS times: as built (`quiet`), with the step marks waking the counting
# thread as before 4368a77 (`wake`), and with the background threads in SCHED_BATCH (`batch`);
# every run reads each slow boundary's wait for a core, page faults and context switches
# (-Dember.boundary.runDelay=true) and logs the JVM's safepoints and handshakes with their uptimes
# (<run>-vm.log: a "Deoptimize" handshake stops every thread, and the thirteenth session's logs
# had safepoints only). Logs under $OUT/boundaries, packed into boundaries.tgz.
# usage: scripts/gpu-boundaries.sh   (about 60 s of data generation, then about 20 s a run)
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
. "$(dirname "$0")/gpu-lib.sh"
unpack_bundle || exit 1
r="$out/boundaries"
mkdir -p "$r"
record_machine "$r"
[ -d /tmp/data.tsv.ember ] || generate_data "$r" # made already when gpu-final.sh ran first
here="$(cd "$(dirname "$0")" && pwd)"
d="-Dember.boundary.runDelay=true"
vm() { echo "-Xlog:safepoint,handshake*=debug:file=$r/$1-vm.log:uptime"; }
for i in $(seq 1 "${ROUNDS:-3}"); do
  OUT="$r" MODES=cache bash "$here/gpu-ab.sh" "quiet$i" "$d $(vm "quiet$i")"
  OUT="$r" MODES=cache bash "$here/gpu-ab.sh" "wake$i" "$d $(vm "wake$i") -Dember.count.wakeAtStepMarks=true"
  OUT="$r" MODES=cache bash "$here/gpu-ab.sh" "batch$i" "$d $(vm "batch$i") -Dember.background.policy=batch"
done
for f in "$r"/*-stderr.txt; do
  echo "$(basename "$f" -stderr.txt): $(grep -oE '[0-9]+ step boundaries over 1 ms, the longest [0-9.]+ ms' "$f" | head -1)"
done | tee "$r/summary.txt"
tar czf "$out/boundaries.tgz" -C "$out" boundaries
