#!/usr/bin/env bash
# Issue 7's evidence run on the GPU machine (the device tool's copy of this tree, with
# dist/ember-bundle.tar.xz carried): 10M generated samples at Kaggle cardinalities; the end-to-end
# fae pipeline timed (convert the TSV, profile, train one epoch, evaluate every held-out sample);
# then the four modes side by side on the same conversion. Everything goes under $OUT, packed
# into final.tgz (the device tool brings back few files).
# usage: scripts/gpu-final.sh [samples]
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
samples="${1:-10000000}"
. "$(dirname "$0")/gpu-lib.sh"
unpack_bundle || exit 1
e="$b/ember/ember"
r="$out/final"
mkdir -p "$r"
record_machine "$r"
export EMBER_JAVA_OPTS="-Dember.kernel.cache=/tmp/ember-kernels"
cd /tmp || exit 1
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

"$e" gen-data --no-progress --out /tmp/data.tsv --samples "$samples" --seed 1 > "$r/gen.txt" 2>&1
tail -2 "$r/gen.txt"

# End to end: conversion, then fae (profile, train, evaluate) on it, each timed.
t0=$(date +%s.%N)
"$e" convert --no-progress /tmp/data.tsv > "$r/convert.txt" 2>&1
t1=$(date +%s.%N)
"$e" train --no-progress --data /tmp/data.tsv --run-dir /tmp/e2e --mode fae --device cuda --batch 2048 \
  --budget 0.1 --eval-samples 0 > "$r/e2e-fae-stdout.txt" 2> "$r/e2e-fae-stderr.txt"
t2=$(date +%s.%N)
{ echo "convert_s $(secs "$t0" "$t1")"; echo "fae_train_eval_s $(secs "$t1" "$t2")"; echo "end_to_end_s $(secs "$t0" "$t2")"; } | tee "$r/e2e.txt"

# The four modes side by side, same data, seed and model.
t3=$(date +%s.%N)
"$e" train --no-progress --data /tmp/data.tsv --run-dir /tmp/all --mode all --device cuda --batch 2048 \
  --budget 0.1 --eval-samples 0 --report "$r/report" > "$r/train-stdout.txt" 2> "$r/train-stderr.txt"
echo "train all exit $? after $(secs "$t3" "$(date +%s.%N)") s"
grep -v '^{' "$r/train-stdout.txt" | tail -6
grep -E "step thread|tiered store|Exception" "$r/train-stderr.txt" | cut -c1-300
tar czf "$out/final.tgz" -C "$out" final
