#!/usr/bin/env bash
# demote3's GPU run (one call, under 5 minutes): moves against pinned copies, this branch's code
# (sorted by stripe, copy threads), then A/B variants, then main's 2f9e19f jars swapped in ("before"),
# the host's share alone (MoveMapBench) for each, and the pool's CUDA contract if time is left.
set -uo pipefail
out="${OUT:?}"
it="-wi 1 -i 2 -w 1 -r 1"
d=.device-demote3
start=$SECONDS
t() { echo "$1: exit $2 at $((SECONDS - start)) s"; }
EMBER_BUNDLE=$d/ember-bundle.tar.xz timeout 110 bash scripts/gpu-run.sh bench "PromoteDemote -p dim=64,128 $it"
t "A after, dims 64 and 128" $?
mv "$out"/jmh-1*.json "$out/jmh-after.json" 2>/dev/null
e=/tmp/ember-bundle/ember
[[ -f "$e/runtime/lib/libjsig.so" ]] && export LD_PRELOAD="$e/runtime/lib/libjsig.so"
export EMBER_JAVA_OPTS="-Dember.kernel.cache=/tmp/ember-kernels"
b() { local name=$1 limit=$2; shift 2; timeout "$limit" "$e/ember" bench "$@" $it -rf json -rff "$out/jmh-$name.json" >> "$out/jmh.log" 2>&1; t "$name" $?; }
b after-walk 40 'PromoteDemoteBench.(promote|demote|promoteRowBuffer|demoteRowBuffer)$' -p dim=64 -jvmArgsAppend -Dember.hot.sortByStripe=false
b after-no-copy-threads 22 'PromoteDemoteBench.(promote|demote)$' -p dim=64 -p copyThreads=0
b movemap-after 22 'MoveMapBench.(put|remove)$' -p threads=8 -p copy=false,true -p copyThreads=4
b movemap-after-walk 12 'MoveMapBench.(put|remove)$' -p threads=8 -p copy=false -jvmArgsAppend -Dember.hot.sortByStripe=false
cp "$e/lib/ember-gpu-tier-0.1.0-SNAPSHOT.jar" /tmp/after-gpu-tier.jar
cp "$e/test/ember-jmh-0.1.0-SNAPSHOT.jar" /tmp/after-jmh.jar
cp $d/before/ember-gpu-tier-0.1.0-SNAPSHOT.jar "$e/lib/"
cp $d/before/ember-jmh-0.1.0-SNAPSHOT.jar "$e/test/"
b before 55 'PromoteDemoteBench' -p dim=64
b movemap-before 22 'MoveMapBench.(put|remove)$' -p threads=8 -p copy=false,true
cp /tmp/after-gpu-tier.jar "$e/lib/ember-gpu-tier-0.1.0-SNAPSHOT.jar"
cp /tmp/after-jmh.jar "$e/test/ember-jmh-0.1.0-SNAPSHOT.jar"
left=$((280 - (SECONDS - start)))
if (( left > 15 )); then
  timeout $left "$e/runtime/bin/java" @"$e/etc/jvm.options" -Dember.root="$e" -Xmx4g -Dorg.lwjgl.opencl.libname=libOpenCL.so.1 \
    -cp "$e/lib/*:$e/test/*" org.junit.platform.console.ConsoleLauncher execute \
    --select-class dev.ember.gpu.pool.CudaHotTierTest --select-class dev.ember.gpu.pool.ThreadedMapHostHotTierTest \
    --select-class dev.ember.gpu.pool.RowSlotStripesTest \
    --reports-dir /tmp/junit --disable-banner --details=tree > "$out/tests.log" 2>&1
  t "tests" $?
  cp /tmp/junit/TEST-junit-jupiter.xml "$out/junit-gpu.xml" 2>/dev/null
  grep -E "tests (successful|failed|skipped|found|aborted)" "$out/tests.log"
fi
grep -E "^(PromoteDemote|MoveMap)" "$out/jmh.log" | grep -v ":bytes"
