#!/usr/bin/env bash
# The GPU machine: 10M generated samples, then the modes named (MODES, default cache,device) once
# per variant of JVM flags given, everything under $OUT/modes, packed into modes.tgz.
# usage: scripts/gpu-modes.sh NAME="-Dflag=value ..." ...   (NAME= alone: no extra flags)
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
. "$(dirname "$0")/gpu-lib.sh"
unpack_bundle || exit 1
r="$out/modes"
mkdir -p "$r"
record_machine "$r"
cd /tmp || exit 1
generate_data "$r"
for v in "$@"; do
  OUT="$r" "$OLDPWD/scripts/gpu-ab.sh" "${v%%=*}" "${v#*=}"
done
tar czf "$out/modes.tgz" -C "$out" modes && rm -rf "$r"
