#!/usr/bin/env bash
# Whether the step boundaries over 1 ms left in `cache` are the JVM's collector: the GPU machine
# trains cache and fae on 10M generated samples once per collector named (default: G1 and ZGC),
# each with its GC log, everything under $OUT.
# usage: scripts/gpu-gc.sh [collector...]   (g1, zgc, parallel; g1-safepoints: G1 with every
# safepoint logged too; g1-bigyoung: G1 with a fixed 4 GiB young generation, and safepoints
# logged); MODES picks the modes (default cache,fae).
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
. "$(dirname "$0")/gpu-lib.sh"
unpack_bundle || exit 1
e="$b/ember/ember"
record_machine "$out"
cd /tmp || exit 1
generate_data "$out"
collectors=("$@")
[[ ${#collectors[@]} -eq 0 ]] && collectors=(g1 zgc)
for gc in "${collectors[@]}"; do
  case "$gc" in
    g1) flag=-XX:+UseG1GC ;;
    g1-safepoints) flag=-XX:+UseG1GC ;;
    g1-bigyoung) flag="-XX:+UseG1GC -Xms8g -Xmn4g" ;;
    zgc) flag=-XX:+UseZGC ;;
    parallel) flag=-XX:+UseParallelGC ;;
    *) echo "unknown collector $gc" >&2; exit 2 ;;
  esac
  what=gc
  [[ "$gc" == *safepoints || "$gc" == *bigyoung ]] && what=gc,safepoint
  EMBER_JAVA_OPTS="-Dember.kernel.cache=/tmp/ember-kernels $flag -Xlog:$what:file=$out/gc-$gc.log:uptime" \
    "$e" train --no-progress --data /tmp/data.tsv --run-dir "/tmp/r-$gc" --mode "${MODES:-cache,fae}" --device cuda --batch 2048 \
    --budget 0.1 --eval-samples 0 > "$out/$gc-stdout.txt" 2> "$out/$gc-stderr.txt"
  echo "$gc exit $?"
  grep -v '^{' "$out/$gc-stdout.txt" | tail -3
  grep -E "tiered store" "$out/$gc-stderr.txt" | cut -c1-420
  echo "$gc: $(grep -c 'Pause' "$out/gc-$gc.log") pauses logged"
  [[ "$what" == *safepoint ]] && echo "safepoints over 1 ms: $(grep -c -E 'Total: [0-9]{7,}' "$out/gc-$gc.log")"
done
