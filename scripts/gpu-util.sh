#!/usr/bin/env bash
# Is a mode's step bound by the GPU or by the host? On one GPU machine: each mode named trained in
# a JVM of its own while nvidia-smi samples the card's utilization every 50 ms (the driver updates
# it about every 200 ms); the samples taken while it trained give the card's busy share, and busy
# share x step time the card's work a step (set-up and JIT warm-up blur it: read the samples too).
# usage: scripts/gpu-util.sh mode...   (e.g. device cache device cache)
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
. "$(dirname "$0")/gpu-lib.sh"
unpack_bundle || exit 1
r="$out/util"
mkdir -p "$r"
record_machine "$r"
SAMPLES="${SAMPLES:-10000000}" generate_data "$r"
cd /tmp || exit 1
n=0
for mode in "$@"; do
  n=$((n + 1)); name="$n-$mode"
  nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.memory --format=csv,noheader,nounits -lms 50 \
    > "$r/$name-smi.csv" 2>&1 &
  smi=$!
  EMBER_JAVA_OPTS="-Dember.kernel.cache=/tmp/ember-kernels" "$b/ember/ember" train --no-progress --data /tmp/data.tsv \
    --run-dir "/tmp/u-$name" --mode "$mode" --device cuda --batch 2048 --budget 0.1 --eval-samples 0 \
    > "$r/$name-stdout.txt" 2> "$r/$name-stderr.txt"
  kill "$smi"; wait "$smi" 2>/dev/null
  rm -rf "/tmp/u-$name"
  # The samples while it trained: those from the first at >= 20% to the last at >= 20%.
  python3 - "$r/$name-smi.csv" "$r/$name-stdout.txt" "$name" <<'EOF'
import json, sys
rows = []
for line in open(sys.argv[1]):
    parts = [p.strip() for p in line.split(",")]
    if len(parts) == 3 and parts[1].isdigit():
        rows.append((int(parts[1]), int(parts[2])))
busy = [i for i, (u, _) in enumerate(rows) if u >= 20]
run = json.loads([l for l in open(sys.argv[2]) if l.startswith("{")][-1])
step_ms = 1000.0 * run["seconds"] / run["steps"]
if busy:
    window = rows[busy[0]:busy[-1] + 1]
    util = sum(u for u, _ in window) / len(window)
    mem = sum(m for _, m in window) / len(window)
    # The window holds set-up and settling too; its middle is training (the last of it the warmest).
    mid = window[len(window) // 5:len(window) * 4 // 5] or window
    umid = sum(u for u, _ in mid) / len(mid)
    print(f"{sys.argv[3]}: {round(run['samplesPerSecond'])} samples/s, step {step_ms:.3f} ms; card busy {util:.1f}% "
          f"(memory {mem:.1f}%) over {len(window)} samples, {umid:.1f}% in their middle three fifths: "
          f"{umid / 100 * step_ms:.3f} ms of card work a step at the run's mean step")
else:
    print(f"{sys.argv[3]}: no sample over 20%")
EOF
done
tar czf "$out/util.tgz" -C "$out" util && rm -rf "$r"
