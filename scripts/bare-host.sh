#!/usr/bin/env bash
# Runs a command on this machine as if it were the bare GPU host: in a user and mount namespace
# where /usr/lib/x86_64-linux-gnu holds only glibc, libstdc++, libgcc_s and bash's libtinfo, and
# the font directories are empty. No root needed; needs unshare(1) and unprivileged user
# namespaces. Exit 3 (with the reason on stderr) when the namespace cannot be made; otherwise the
# command's exit code. In the namespace only bash builtins, coreutils that link libc alone
# (dirname, readlink, head, od, cat, ...) and self-contained programs (the bundle's java) run.
# usage: scripts/bare-host.sh CMD [ARGS...]
set -uo pipefail
syslib=/usr/lib/x86_64-linux-gnu
fontdirs=(/usr/share/fonts /usr/local/share/fonts /etc/fonts)
# What a bare host still has (glibc, the C++ runtime) and what bash needs to start.
base_libs=(ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libmvec.so.1 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2
  libutil.so.1 libanl.so.1 libnss_files.so.2 libnss_dns.so.2 libstdc++.so.6 libgcc_s.so.1 libtinfo.so.6)

if [[ "${1:-}" == --inside ]]; then # MINLIB CMD...: in the namespace, as its root
  min="$2"; shift 2
  for d in "${fontdirs[@]}"; do
    [[ -d $d ]] && { mount -t tmpfs -o size=1m ember-no-fonts "$d" || exit 3; }
  done
  mount --bind "$min" "$syslib" || exit 3
  for l in libharfbuzz.so.0 libfreetype.so.6 libfontconfig.so.1 libz.so.1 libpng16.so.16; do
    [[ -e $syslib/$l ]] && { echo "bare-host: $l is still visible" >&2; exit 3; }
  done
  shopt -s nullglob
  for d in "${fontdirs[@]}"; do
    f=("$d"/*)
    [[ ${#f[@]} == 0 ]] || { echo "bare-host: $d still has fonts" >&2; exit 3; }
  done
  exec "$@"
fi

[[ $# -gt 0 ]] || { echo "usage: scripts/bare-host.sh CMD [ARGS...]" >&2; exit 2; }
command -v unshare >/dev/null || { echo "bare-host: no unshare(1) here (util-linux)" >&2; exit 3; }
[[ -d $syslib ]] || { echo "bare-host: no $syslib here (not Debian/Ubuntu x86-64)" >&2; exit 3; }
if ! why="$(unshare --user --map-root-user --mount true 2>&1)"; then
  echo "bare-host: cannot make a user and mount namespace here: $why" >&2
  exit 3
fi
min="$(mktemp -d /tmp/ember-bare-lib.XXXXXX)"
for l in "${base_libs[@]}"; do [[ -e $syslib/$l ]] && cp -L "$syslib/$l" "$min/$l"; done
unshare --user --map-root-user --mount --propagation private bash "$0" --inside "$min" "$@"
code=$?
rm -rf "$min"
exit $code
