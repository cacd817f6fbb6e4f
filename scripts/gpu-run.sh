#!/usr/bin/env bash
# Runs on the GPU machine (the device tool's copy of this tree, with dist/ember-bundle.tar.xz
# carried): unpacks the bundle, records the card, runs the whole JUnit suite (host, OpenCL on the
# NVIDIA platform, CUDA) and then any JMH suites named, writing everything under $OUT.
# EMBER_BUNDLE names another bundle to unpack (default dist/ember-bundle.tar.xz).
# `report` checks that the bundle writes `ember train --report`'s PNG plots on this host (it has no
# font libraries or fonts: the bundle carries its own); its files come back in report-check.tgz.
# usage: scripts/gpu-run.sh [tests] [report] [bench 'JMH args'] ...
set -uo pipefail
out="${OUT:?OUT must name the results folder}"
. "$(dirname "$0")/gpu-lib.sh"
unpack_bundle || exit 1
e="$b/ember"
record_machine "$out"
cat "$out/machine.txt"
# EMBER_EXTRA_OPTS: more JVM flags for train/gen (a JFR recording, say).
export EMBER_JAVA_OPTS="-Dember.kernel.cache=/tmp/ember-kernels ${EMBER_EXTRA_OPTS:-}"
# Signal chaining: native libraries (CUDA) may install handlers over the JVM's own.
[[ -f "$e/runtime/lib/libjsig.so" ]] && export LD_PRELOAD="$e/runtime/lib/libjsig.so"
while [[ $# -gt 0 ]]; do
  case "$1" in
    tests)
      "$e/etc/bundle-tests.sh" /tmp/junit --details=tree > "$out/tests.log" 2>&1
      echo "tests exit: $?"
      cp /tmp/junit/TEST-junit-jupiter.xml "$out/junit-gpu.xml"
      grep -E "tests (successful|failed|skipped|found)" "$out/tests.log"
      grep -E "✘|MethodSource|=> " "$out/tests.log" | head -60
      ;;
    bench)
      shift
      # shellcheck disable=SC2086
      "$e/ember" bench $1 -rf json -rff "$out/jmh-$(date +%s).json" 2>&1 | tee -a "$out/jmh.log" | grep -E "^(Benchmark|dev\.ember|#.*Warm|Iteration)" | grep -v Iteration
      ;;
    gen)
      shift
      # shellcheck disable=SC2086
      (cd /tmp && "$e/ember" gen-data --no-progress --out /tmp/data.tsv $1) 2>&1 | tee -a "$out/train.txt" | tail -3
      ;;
    train)
      shift
      # shellcheck disable=SC2086
      start=$SECONDS
      (cd /tmp && timeout 330 "$e/ember" train --no-progress --data /tmp/data.tsv --run-dir /tmp/ember-run $1) \
        > "$out/train-stdout.txt" 2> "$out/train-stderr.txt"
      echo "train exit: $? after $((SECONDS - start)) s"
      grep -v '^\[' "$out/train-stdout.txt" | tail -12
      grep -E "Exception|Error|device:" "$out/train-stderr.txt" | head -8
      ;;
    report)
      here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
      "$here/report-check.sh" "$e" /tmp/ember-report-check
      echo "report-check exit: $?"
      tar czf "$out/report-check.tgz" -C /tmp ember-report-check
      ;;
    *) echo "unknown step $1"; exit 2 ;;
  esac
  shift
done
