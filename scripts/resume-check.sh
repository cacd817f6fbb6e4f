#!/usr/bin/env bash
# Resume on the GPU: the same short training run twice, once straight through and once killed
# (SIGKILL) mid-run after a few checkpoints and finished with --resume; prints both runs' AUC and
# model digests (ember store info --digest: every row of every table, and the MLP weights).
# Exit 0 when the AUCs are equal (the digests say whether the models are also bit-identical).
#
# Runs on the GPU machine from the bundle, as scripts/gpu-run.sh does (EMBER_BUNDLE names it,
# default dist/ember-bundle.tar.xz), or with EMBER=path/to/ember anywhere (./ember here).
# Writes resume-check.txt, the runs' stdout/stderr and the digests under $OUT.
# usage: scripts/resume-check.sh [--mode cache] [--device cuda] [--samples 200000] [--scale 0.02]
#          [--batch 2048] [--steps 300] [--every 40] [--kill-after 3] [--seed 3]
set -uo pipefail
mode=cache device=cuda samples=200000 scale=0.02 batch=2048 steps=300 every=40 kill_after=3 seed=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mode) mode="$2"; shift ;;
    --device) device="$2"; shift ;;
    --samples) samples="$2"; shift ;;
    --scale) scale="$2"; shift ;;
    --batch) batch="$2"; shift ;;
    --steps) steps="$2"; shift ;;
    --every) every="$2"; shift ;;
    --kill-after) kill_after="$2"; shift ;;
    --seed) seed="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "resume-check: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
out="${OUT:-$PWD/resume-check-out}"
mkdir -p "$out"
work="$(mktemp -d /tmp/ember-resume-check.XXXXXX)"
report="$out/resume-check.txt"
say() { echo "$*" | tee -a "$report"; }
: > "$report"

if [[ -n "${EMBER:-}" ]]; then
  ember="$EMBER"
else
  b=/tmp/ember-bundle
  rm -rf "$b" && mkdir -p "$b" && tar xJf "${EMBER_BUNDLE:-dist/ember-bundle.tar.xz}" -C "$b" || exit 1
  ember="$b/ember/ember"
  # Signal chaining: CUDA may install handlers over the JVM's own.
  [[ -f "$b/ember/runtime/lib/libjsig.so" ]] && export LD_PRELOAD="$b/ember/runtime/lib/libjsig.so"
fi
command -v nvidia-smi >/dev/null && say "card: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n1)"
export EMBER_JAVA_OPTS="-Dember.kernel.cache=$work/kernels ${EMBER_JAVA_OPTS:-}"
say "settings: --mode $mode --device $device --batch $batch --steps $steps --checkpoint-every $every --seed $seed;" \
  "data: $samples samples, scale $scale; killed after checkpoint $kill_after"

"$ember" gen-data --no-progress --out "$work/data.tsv" --samples "$samples" --scale "$scale" --seed 11 \
  > "$out/gen.txt" 2>&1 || { say "gen-data failed: $(tail -n3 "$out/gen.txt")"; exit 1; }
train=(train --no-progress --data "$work/data.tsv" --mode "$mode" --device "$device" --batch "$batch"
       --steps "$steps" --checkpoint-every "$every" --seed "$seed")

auc() { grep -o '"auc":[^,]*' "$1" | tail -n1 | cut -d: -f2; }
digest() { "$ember" store info --digest "$1" 2>&1 | grep '^digest' | sed 's/^digest at //'; }

# 1. Straight through (it also converts the data; the second run reuses the conversion).
"$ember" "${train[@]}" --store "$work/straight" > "$out/straight.out" 2> "$out/straight.err"
rc=$?
say "uninterrupted run: exit $rc, AUC $(auc "$out/straight.out")"
[[ $rc == 0 ]] || { tail -n5 "$out/straight.err" | tee -a "$report"; exit 1; }

# 2. Killed mid-run: after checkpoint number $kill_after is done, at a drawn moment within 0.5 s.
EMBER_JAVA_OPTS="$EMBER_JAVA_OPTS -Dorg.slf4j.simpleLogger.log.dev.ember.trainer.train.Trainer=debug" \
  "$ember" "${train[@]}" --store "$work/killed" --resume > "$out/killed.out" 2> "$out/killed.err" &
pid=$!
deadline=$((SECONDS + 240))
while kill -0 "$pid" 2>/dev/null && [[ $(grep -c 'checkpoint done at step' "$out/killed.err") -lt $kill_after ]]; do
  [[ $SECONDS -lt $deadline ]] || break
  sleep 0.05
done
if ! kill -0 "$pid" 2>/dev/null; then
  say "the run to be killed ended first (exit $(wait "$pid"; echo $?)); lower --kill-after or raise --steps"
  exit 1
fi
sleep "0.$(printf '%03d' $((RANDOM % 500)))"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
done_steps=$(grep -o 'checkpoint done at step [0-9]*' "$out/killed.err" | tail -n1 | grep -o '[0-9]*$')
at=$("$ember" store info "$work/killed" 2>&1 | sed -n 's/^last checkpoint: step \([0-9]*\).*/\1/p')
say "killed (SIGKILL) after checkpoint $done_steps was reported done; the store reopens at step $at"

# 3. Resumed to the end.
"$ember" "${train[@]}" --store "$work/killed" --resume > "$out/resumed.out" 2> "$out/resumed.err"
rc=$?
say "resumed run: exit $rc, AUC $(auc "$out/resumed.out")"
[[ $rc == 0 ]] || { tail -n5 "$out/resumed.err" | tee -a "$report"; exit 1; }

d1=$(digest "$work/straight")
d2=$(digest "$work/killed")
say "digest uninterrupted: $d1"
say "digest resumed:       $d2"
a1=$(auc "$out/straight.out")
a2=$(auc "$out/resumed.out")
if [[ -n "$a1" && "$a1" == "$a2" ]]; then
  say "AUC equal ($a1); models $([[ "$d1" == "$d2" ]] && echo "bit-identical" || echo "differ in their bits")"
  rm -rf "$work"
  exit 0
fi
say "AUC differs: uninterrupted $a1, resumed $a2"
exit 1
