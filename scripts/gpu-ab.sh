#!/usr/bin/env bash
# After scripts/gpu-final.sh on the same machine (its bundle and data in /tmp): the modes named
# (MODES, default cache,device) once more with the JVM flags given, for a side-by-side reading.
# usage: scripts/gpu-ab.sh NAME "-Dflag=value ..."
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
name="$1"; flags="${2:-}"
e=/tmp/ember-bundle/ember/ember
cd /tmp || exit 1
EMBER_JAVA_OPTS="-Dember.kernel.cache=/tmp/ember-kernels $flags" "$e" train --no-progress --data /tmp/data.tsv \
  --run-dir "/tmp/ab-$name" --mode "${MODES:-cache,device}" --device cuda --batch 2048 --budget 0.1 --eval-samples 0 \
  > "$out/$name-stdout.txt" 2> "$out/$name-stderr.txt"
echo "$name ($flags) exit $?"
grep -v '^{' "$out/$name-stdout.txt" | tail -3
grep -E "step thread per step|tiered store" "$out/$name-stderr.txt" | cut -c1-330
