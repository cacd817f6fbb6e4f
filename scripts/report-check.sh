#!/usr/bin/env bash
# Checks that an unpacked bundle writes `ember train --report`'s PNG plots: generates a small data
# set, trains every mode for a few steps with --report OUT_DIR/report, checks each PNG, and where
# the bundle holds the tests (--with-tests) runs TrainReportTest, which decodes the PNGs and looks
# for each mode's line and for the titles' text. Prints "report: PNG plots written: ..." or
# "report: PNG plots NOT written: ..." (exit 1). OUT_DIR gets the logs, report/ and junit/; the
# data and the run's store go to a temporary folder, removed at the end.
# --bare: runs the bundle through scripts/bare-host.sh, with this machine's libraries (all but
#   glibc and libstdc++) and fonts hidden, as on the GPU host.
# usage: scripts/report-check.sh [--bare] BUNDLE_DIR OUT_DIR   (BUNDLE_DIR holds ember, runtime/, lib/)
set -uo pipefail
usage="usage: scripts/report-check.sh [--bare] BUNDLE_DIR OUT_DIR"

# Runs the bundle's commands: bash builtins and the bundle only (in --bare, most tools are gone).
if [[ "${1:-}" == --run ]]; then # BUNDLE OUT WORK
  e="$2/ember" out="$3" work="$4"
  (cd "$work" && "$e" gen-data --no-progress --out "$work/data.tsv" --samples 6000 --seed 3 --scale 0.001) \
    > "$out/gen.txt" 2>&1 || { echo "gen-data failed (gen.txt)" > "$out/train-stderr.txt"; exit 0; }
  (cd "$work" && "$e" train --no-progress --data "$work/data.tsv" --run-dir "$work/run" --mode all --device host \
    --batch 64 --steps 24 --eval-every 8 --eval-samples 512 --threads 2 --report "$out/report") \
    > "$out/train-stdout.txt" 2> "$out/train-stderr.txt"
  echo "train exit $?" >> "$out/train-stderr.txt"
  if [[ -x "$2/etc/bundle-tests.sh" && -d "$2/test" ]]; then
    "$2/etc/bundle-tests.sh" "$out/junit" --include-classname '.*TrainReportTest' --details=tree \
      > "$out/train-report-test.txt" 2>&1
  fi
  exit 0
fi

bare=0
if [[ "${1:-}" == --bare ]]; then bare=1; shift; fi
bundle="$(cd "${1:?$usage}" && pwd)" || exit 2
mkdir -p "${2:?$usage}" && out="$(cd "$2" && pwd)" || exit 2
[[ -x "$bundle/ember" && -x "$bundle/runtime/bin/java" ]] || { echo "report-check: $bundle is not an unpacked bundle (ember, runtime/)" >&2; exit 2; }
rm -rf "$out/report" "$out/junit" "$out"/{gen,train-stdout,train-stderr,train-report-test}.txt
work="$(mktemp -d /tmp/ember-report-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT

if [[ $bare == 1 ]]; then
  "$(dirname "$0")/bare-host.sh" bash "$0" --run "$bundle" "$out" "$work"
  code=$?
  [[ $code == 3 ]] && { echo "report-check: no bare namespace here (see above)" >&2; exit 2; }
  echo "bare: $bundle ran with only glibc, libstdc++, libgcc_s and libtinfo in /usr/lib/x86_64-linux-gnu, no fonts"
else
  bash "$0" --run "$bundle" "$out" "$work"
fi

tail -n 1 "$out/train-stderr.txt"
written=() bad=()
for png in auc.png loss.png hit-rate.png hot-samples.png; do
  f="$out/report/$png"
  if [[ -s $f && "$(head -c 4 "$f" | od -An -c | tr -d ' ')" == "211PNG" ]]; then
    written+=("$png ($(wc -c < "$f") bytes)")
  else
    bad+=("$png")
  fi
done
if [[ -f $out/train-report-test.txt ]]; then
  grep -E "tests (successful|failed|skipped|aborted)" "$out/train-report-test.txt"
  grep -q "1 tests successful" "$out/train-report-test.txt" || bad+=("TrainReportTest (see train-report-test.txt)")
fi
if [[ ${#bad[@]} == 0 ]]; then
  echo "report: PNG plots written: ${written[*]}"
else
  echo "report: PNG plots NOT written: ${bad[*]}"
  grep -h -E -e "--report|Exception|Error|cannot open" "$out/train-stderr.txt" 2>/dev/null | head -5
  grep -E "✘|=> " "$out/train-report-test.txt" 2>/dev/null | head -5
  exit 1
fi
