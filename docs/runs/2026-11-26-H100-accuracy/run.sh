#!/usr/bin/env bash
# accuracy: generate SAMPLES (default 10M) Kaggle-shaped samples, then one `ember train` per line of
# RUNS (its options), each in a run folder of its own, within BUDGET_S seconds in all.
set -uo pipefail
out="${OUT:?}"
b=/tmp/ember-bundle
rm -rf "$b" && mkdir -p "$b" && tar xJf .device-accuracy/ember-bundle.tar.xz -C "$b" || exit 1
e="$b/ember"
{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; nproc; uname -r; } > "$out/machine.txt" 2>&1
cat "$out/machine.txt"
export EMBER_JAVA_OPTS="-Dember.kernel.cache=/tmp/ember-kernels"
[[ -f "$e/runtime/lib/libjsig.so" ]] && export LD_PRELOAD="$e/runtime/lib/libjsig.so"
deadline=$((SECONDS + ${BUDGET_S:-320}))
mkdir -p /tmp/acc-logs && cd /tmp
start=$SECONDS
"$e/ember" gen-data --no-progress --out /tmp/data.tsv --samples "${SAMPLES:-10000000}" --seed 1 > /tmp/acc-logs/gen.txt 2>&1
echo "gen: $((SECONDS - start)) s"; tail -3 /tmp/acc-logs/gen.txt
cp /tmp/data.tsv.json "$out/ceilings.json"
md5sum /tmp/data.tsv | tee "$out/data.md5"
i=0
while IFS= read -r args; do
  [[ -z "$args" ]] && continue
  i=$((i + 1)); left=$((deadline - SECONDS))
  if (( left < 40 )); then echo "run $i skipped: $left s left: $args"; continue; fi
  start=$SECONDS
  # shellcheck disable=SC2086
  timeout "$left" "$e/ember" train --no-progress --data /tmp/data.tsv --run-dir "/tmp/run$i" $args \
    > "/tmp/acc-logs/train$i.txt" 2> "/tmp/acc-logs/train$i.err"
  echo "run $i: exit $? after $((SECONDS - start)) s: $args"
  grep -o '"mode":"[a-z]*"\|"samplesPerSecond":[0-9.]*\|"auc":[0-9.]*\|"logLoss":[0-9.]*' "/tmp/acc-logs/train$i.txt" | tr '\n' ' '; echo
  grep -E "Exception|Error" "/tmp/acc-logs/train$i.err" | head -3
  rm -rf "/tmp/run$i"
done <<< "${RUNS:-}"
tar czf "$out/logs.tgz" -C /tmp/acc-logs .
