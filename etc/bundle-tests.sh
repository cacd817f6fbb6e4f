#!/usr/bin/env bash
# Runs Ember's whole JUnit suite from a bundle built with `ember bundle --with-tests`, on a
# machine with no JVM or Maven (the GPU machine). JUnit XML reports go to the given folder.
# usage: etc/bundle-tests.sh REPORTS_DIR [extra ConsoleLauncher options]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
reports="${1:?usage: bundle-tests.sh REPORTS_DIR}"; shift
mkdir -p "$reports"
# Signal chaining (see the launcher): CUDA and OpenCL libraries may replace the JVM's handlers.
[[ -f "$here/runtime/lib/libjsig.so" ]] && export LD_PRELOAD="$here/runtime/lib/libjsig.so${LD_PRELOAD:+:$LD_PRELOAD}"
# bash globbing, no ls: the bare-host check (scripts/report-check.sh --bare) hides what ls links.
jars=("$here"/test/ember-*-tests.jar)
if [[ ! -e "${jars[0]}" ]]; then
  echo "bundle-tests.sh: no test jars under $here/test: this bundle was built without them (ember bundle --with-tests)" >&2
  exit 2
fi
scan="$(IFS=:; echo "${jars[*]}")"
exec "$here/runtime/bin/java" @"$here/etc/jvm.options" -Dember.root="$here" -Xmx4g \
  -Dorg.lwjgl.opencl.libname=libOpenCL.so.1 \
  -cp "$here/lib/*:$here/test/*" org.junit.platform.console.ConsoleLauncher execute \
  --scan-class-path "$scan" --reports-dir "$reports" --disable-banner --details=summary "$@"
