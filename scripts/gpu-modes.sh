#!/usr/bin/env bash
# The GPU machine: 10M generated samples, then the modes named (MODES, default cache,device) once
# per variant of JVM flags given, everything under $OUT/modes, packed into modes.tgz.
# usage: scripts/gpu-modes.sh NAME="-Dflag=value ..." ...   (NAME= alone: no extra flags)
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
b=/tmp/ember-bundle
rm -rf "$b" && mkdir -p "$b" && tar xJf "${EMBER_BUNDLE:-dist/ember-bundle.tar.xz}" -C "$b" || exit 1
r="$out/modes"
mkdir -p "$r"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; uname -r; } > "$r/machine.txt" 2>&1
cd /tmp || exit 1
"$b/ember/ember" gen-data --no-progress --out /tmp/data.tsv --samples "${SAMPLES:-10000000}" --seed 1 > "$r/gen.txt" 2>&1
"$b/ember/ember" convert --no-progress /tmp/data.tsv > "$r/convert.txt" 2>&1
for v in "$@"; do
  OUT="$r" "$OLDPWD/scripts/gpu-ab.sh" "${v%%=*}" "${v#*=}"
done
tar czf "$out/modes.tgz" -C "$out" modes && rm -rf "$r"
