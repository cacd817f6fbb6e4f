#!/usr/bin/env bash
# Does the host's other work slow the step thread? On one GPU machine: the host's CPU topology,
# then device and cache trained alone, device again beside N busy loops at the background
# threads' nice value (the CPU cache's extra threads take, without its extra work), and cache
# with the JVM flags given; alternated, each run its own JVM, same data (scripts/gpu-lib.sh).
# usage: scripts/gpu-contention.sh [burners] ["-Dflag=value ..."]
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
burners="${1:-11}"; flags="${2:-}"
. "$(dirname "$0")/gpu-lib.sh"
unpack_bundle || exit 1
r="$out/contention"
mkdir -p "$r"
record_machine "$r"
{ lscpu; echo; lscpu -e; } > "$r/lscpu.txt" 2>&1
SAMPLES="${SAMPLES:-10000000}" generate_data "$r"
cd /tmp || exit 1

train() { # name mode [java flags]
  EMBER_JAVA_OPTS="-Dember.kernel.cache=/tmp/ember-kernels ${3:-}" "$b/ember/ember" train --no-progress \
    --data /tmp/data.tsv --run-dir "/tmp/c-$1" --mode "$2" --device cuda --batch 2048 --budget 0.1 \
    --eval-samples 0 > "$r/$1-stdout.txt" 2> "$r/$1-stderr.txt"
  echo "$1 ($2 ${3:-}) exit $?: $(grep "^{" "$r/$1-stdout.txt" | python3 -c 'import json,sys; [print(round(json.loads(l)["samplesPerSecond"]), "samples/s, cores busy", round(json.loads(l)["hostCoresBusy"], 1)) for l in sys.stdin]')"
  grep -E "step thread per step" "$r/$1-stderr.txt" | sed 's/.*step thread per step: //' | cut -c1-200
  rm -rf "/tmp/c-$1"
}
burn() { # count: busy loops at nice 7 until stop_burn
  pids=()
  for _ in $(seq "$1"); do nice -n 7 bash -c 'while :; do :; done' & pids+=($!); done
}
stop_burn() { kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; }

for round in 1 2; do
  train "device-$round" device
  burn "$burners"; train "device-burn$burners-$round" device; stop_burn
  train "cache-$round" cache
  [ -n "$flags" ] && train "cache-flags-$round" cache "$flags"
done
