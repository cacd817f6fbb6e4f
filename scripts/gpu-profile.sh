#!/usr/bin/env bash
# Where a tiered mode's step time goes on the GPU machine: 10M generated samples, then one
# training run per variant named, each with a JFR recording (every thread sampled) and its logs,
# everything under $OUT/profile, packed into profile.tgz.
# usage: scripts/gpu-profile.sh variant...   a variant is NAME:MODE[:train options], e.g.
#   cache:cache  device:device  cache-t4:cache:--threads 4
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
. "$(dirname "$0")/gpu-lib.sh"
unpack_bundle || exit 1
e="$b/ember/ember"
r="$out/profile"
mkdir -p "$r"
record_machine "$r"
cd /tmp || exit 1
generate_data "$r"
for v in "$@"; do
  IFS=: read -r name mode opts <<<"$v"
  read -r -a extra <<<"${opts:-}"
  EMBER_JAVA_OPTS="-Dember.kernel.cache=/tmp/ember-kernels ${JAVA_EXTRA:-} -XX:StartFlightRecording=filename=$r/$name.jfr,settings=profile" \
    "$e" train --no-progress --data /tmp/data.tsv --run-dir "/tmp/r-$name" --mode "$mode" --device cuda --batch 2048 \
    --budget 0.1 --eval-samples 0 "${extra[@]}" > "$r/$name-stdout.txt" 2> "$r/$name-stderr.txt"
  echo "$name exit $?"
  grep -v '^{' "$r/$name-stdout.txt" | tail -2
  grep -E "step thread per step|tiered store" "$r/$name-stderr.txt" | cut -c1-330
done
tar czf "$out/profile.tgz" -C "$out" profile && rm -rf "$r"
