#!/usr/bin/env bash
# Installs what Ember's tests need on Debian/Ubuntu: an OpenCL loader and POCL, a real OpenCL
# device on the CPU. Runs from the build's validate phase; does nothing when already present.
set -euo pipefail
have_pocl() { ls /etc/OpenCL/vendors/*pocl* >/dev/null 2>&1 && ldconfig -p | grep -q 'libOpenCL.so.1'; }
if have_pocl; then exit 0; fi
if [[ "$(id -u)" != 0 ]]; then
  echo "ember: POCL (OpenCL on the CPU) is missing; OpenCL tests will be skipped. Install it with:" >&2
  echo "  sudo apt-get install -y pocl-opencl-icd ocl-icd-libopencl1 clinfo" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ember: no apt-get here; install POCL and an OpenCL ICD loader by hand" >&2
  exit 0
fi
echo "ember: installing POCL for the OpenCL tests (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends pocl-opencl-icd ocl-icd-libopencl1 clinfo >&2
