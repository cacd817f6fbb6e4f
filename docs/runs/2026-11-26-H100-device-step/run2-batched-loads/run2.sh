#!/usr/bin/env bash
# Device run 2 of branch devicestep: the step benchmark with the batched-load apply kernel, then the
# CUDA hot-tier contract, then apply and the overlapped step with the previous ember.cu (put first on
# the class path) for a same-card before/after.
set -uo pipefail
d=$PWD/.device-devicestep
b=/tmp/eb; rm -rf $b; mkdir -p $b && tar xJf $d/ember-bundle.tar.xz -C $b || exit 1
e=$b/ember
{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; nproc; uname -r; } > $OUT/machine.txt 2>&1
cat $OUT/machine.txt
export LD_PRELOAD=$e/runtime/lib/libjsig.so
jmh() { # tag, class-path prefix, JMH arguments
  local tag=$1 cp=$2; shift 2
  "$e/runtime/bin/java" @"$e/etc/jvm.options" -Dorg.lwjgl.opencl.libname=libOpenCL.so.1 -cp "$cp$e/lib/*:$e/test/*" \
    org.openjdk.jmh.Main "$@" -wi 1 -i 3 -jvmArgsAppend -Dember.kernel.cache=/tmp/k-$tag -rf json -rff $OUT/jmh-$tag.json \
    > $OUT/jmh-$tag.log 2>&1
  echo "$tag exit $?"; sed -n '/Run complete/,$p' $OUT/jmh-$tag.log | grep -E '^(Benchmark|DeviceStep)'
}
jmh new "" 'DeviceStepBenchmark\.(prepare|gather|apply|forward|denseStep|step|stepOverlap)$'
timeout 50 "$e/etc/bundle-tests.sh" /tmp/junit --include-classname '.*CudaHotTierTest' > $OUT/tests.log 2>&1
echo "tests exit $?"; cp /tmp/junit/TEST-junit-jupiter.xml $OUT/junit-gpu.xml
grep -E "tests (successful|failed|skipped|found)" $OUT/tests.log
jmh old "$d/old:" 'DeviceStepBenchmark\.(apply|stepOverlap)$' -p mode=graph
