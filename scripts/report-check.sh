#!/usr/bin/env bash
# Checks that an unpacked bundle writes `ember train --report`'s PNG plots: generates a small data
# set, trains every mode for a few steps with --report OUT_DIR/report, checks each PNG, and where
# the bundle holds the tests (--with-tests) runs TrainReportTest, which decodes the PNGs and looks
# for each mode's line and for text. Prints "report: PNG plots written: ..." or
# "report: PNG plots NOT written: ..." (exit 1). OUT_DIR gets the logs, report/ and junit/; the
# data and the run's store go to a temporary folder, removed at the end.
# --bare: runs all that on this machine as if it were the bare GPU host: in a user and mount
#   namespace where /usr/lib/x86_64-linux-gnu holds only glibc, libstdc++, libgcc_s and bash's
#   libtinfo, and the font directories are empty (needs unshare(1) and user namespaces).
# usage: scripts/report-check.sh [--bare] BUNDLE_DIR OUT_DIR   (BUNDLE_DIR holds ember, runtime/, lib/)
set -uo pipefail
usage="usage: scripts/report-check.sh [--bare] BUNDLE_DIR OUT_DIR"
syslib=/usr/lib/x86_64-linux-gnu
fontdirs=(/usr/share/fonts /usr/local/share/fonts /etc/fonts)
# What a bare host still has (glibc, the C++ runtime) and what bash needs to start.
base_libs=(ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libmvec.so.1 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2
  libutil.so.1 libanl.so.1 libnss_files.so.2 libnss_dns.so.2 libstdc++.so.6 libgcc_s.so.1 libtinfo.so.6)

# Runs the bundle's commands; only bash builtins and the bundle from here on (in --bare, the
# coreutils that need libselinux or libpcre2 are gone).
run_bundle() { # BUNDLE OUT WORK
  local e="$1/ember" out="$2" work="$3"
  (cd "$work" && "$e" gen-data --no-progress --out "$work/data.tsv" --samples 6000 --seed 3 --scale 0.001) \
    > "$out/gen.txt" 2>&1 || { echo "gen-data failed" > "$out/train-stderr.txt"; return 0; }
  (cd "$work" && "$e" train --no-progress --data "$work/data.tsv" --run-dir "$work/run" --mode all --device host \
    --batch 64 --steps 24 --eval-every 8 --eval-samples 512 --threads 2 --report "$out/report") \
    > "$out/train-stdout.txt" 2> "$out/train-stderr.txt"
  echo "train exit $?" >> "$out/train-stderr.txt"
  if [[ -x "$1/etc/bundle-tests.sh" && -d "$1/test" ]]; then
    "$1/etc/bundle-tests.sh" "$out/junit" --include-classname '.*TrainReportTest' --details=tree \
      > "$out/train-report-test.txt" 2>&1
  fi
}

if [[ "${1:-}" == --inside-bare ]]; then # MINLIB BUNDLE OUT WORK: in the namespace, as the fake root
  for d in "${fontdirs[@]}"; do [[ -d $d ]] && mount -t tmpfs -o size=1m ember-no-fonts "$d"; done
  mount --bind "$2" "$syslib" || { echo "report-check: cannot hide $syslib" >&2; exit 3; }
  {
    echo "bare: $syslib now holds only: ${base_libs[*]}"
    for l in libharfbuzz.so.0 libfreetype.so.6 libfontconfig.so.1 libz.so.1 libpng16.so.16; do
      [[ -e $syslib/$l ]] && echo "bare: $l is still visible" || echo "bare: no $l"
    done
    shopt -s nullglob
    for d in "${fontdirs[@]}"; do f=("$d"/*); echo "bare: $d has ${#f[@]} entries"; done
  } > "$4/bare.txt"
  run_bundle "$3" "$4" "$5"
  exit 0
fi

bare=0
if [[ "${1:-}" == --bare ]]; then bare=1; shift; fi
bundle="$(cd "${1:?$usage}" && pwd)" || exit 2
mkdir -p "${2:?$usage}" && out="$(cd "$2" && pwd)" || exit 2
[[ -x "$bundle/ember" && -x "$bundle/runtime/bin/java" ]] || { echo "report-check: $bundle is not an unpacked bundle (ember, runtime/)" >&2; exit 2; }
rm -rf "$out/report" "$out/junit" "$out"/{gen,train-stdout,train-stderr,train-report-test,bare}.txt
work="$(mktemp -d /tmp/ember-report-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT

if [[ $bare == 1 ]]; then
  command -v unshare >/dev/null || { echo "report-check: --bare needs unshare(1) (util-linux)" >&2; exit 2; }
  min="$(mktemp -d /tmp/ember-bare-lib.XXXXXX)"
  for l in "${base_libs[@]}"; do [[ -e $syslib/$l ]] && cp -L "$syslib/$l" "$min/$l"; done
  unshare --user --map-root-user --mount --propagation private bash "$0" --inside-bare "$min" "$bundle" "$out" "$work"
  code=$?
  rm -rf "$min"
  [[ $code == 0 ]] || { echo "report-check: the bare namespace failed (exit $code; user namespaces off?)" >&2; exit 2; }
  cat "$out/bare.txt"
  if grep -q "still visible" "$out/bare.txt"; then echo "report-check: the namespace did not hide the libraries" >&2; exit 2; fi
else
  run_bundle "$bundle" "$out" "$work"
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
  grep -h -E "report|Exception|Error|cannot open" "$out/train-stderr.txt" "$out/gen.txt" 2>/dev/null | head -5
  grep -E "✘|=> " "$out/train-report-test.txt" 2>/dev/null | head -5
  exit 1
fi
