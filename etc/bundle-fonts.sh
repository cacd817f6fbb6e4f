#!/usr/bin/env bash
# Makes a jlink runtime draw text (the report's PNG plots) on a host with no font libraries and no
# fonts: the GPU machine is a bare image with glibc, libstdc++ and the NVIDIA libraries only.
# - Libraries: the JDK's native libraries (libfontmanager: harfbuzz, freetype and what those need;
#   liblcms; libzip: zlib) link against system ones. Their resolved files are copied into the
#   runtime's lib/, where the JDK libraries' RPATH $ORIGIN finds them; an RPATH also serves the
#   dependencies of what it loaded (the copies have no RUNPATH), so harfbuzz finds glib there too.
#   No LD_LIBRARY_PATH: nothing else in the process (CUDA, OpenCL) sees these copies.
# - A font: DejaVu Sans (plain and bold) in lib/fonts/, which the JDK always registers, and
#   lib/fontconfig.properties mapping every logical font to it. The JDK asks the host's fontconfig
#   first and uses this file where there is none (or it finds no fonts).
# - Licenses: each Debian package's copyright file under legal/native/, listed in its MANIFEST, and
#   the full texts those name from /usr/share/common-licenses/ in legal/native/common-licenses/.
# usage: etc/bundle-fonts.sh RUNTIME_DIR   (called by etc/bundle.sh)
set -euo pipefail
rt="$(cd "${1:?usage: bundle-fonts.sh RUNTIME_DIR}" && pwd)"
lib="$rt/lib"
legal="$rt/legal/native"
fontdir=/usr/share/fonts/truetype/dejavu
fonts=(DejaVuSans.ttf DejaVuSans-Bold.ttf)

# What the host provides (glibc, libstdc++, libgcc): never copied.
host_base='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libresolv|libutil|libstdc\+\+|libgcc_s)\.so'
# JDK libraries only a display or a sound card uses: not needed headless, their X11/ALSA libraries stay out.
display_only='^(libawt_xawt|libjawt|libsplashscreen|libjsound)\.so$'

command -v dpkg >/dev/null || { echo "ember bundle: no dpkg here: the copied libraries' licenses come from Debian packages (build on Debian/Ubuntu)" >&2; exit 2; }

if [[ ! -f $fontdir/${fonts[0]} || ! -f $fontdir/${fonts[1]} ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "ember bundle: installing fonts-dejavu-core (apt-get) for the report's plots..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core >&2 \
      || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core >&2; }
  else
    echo "ember bundle: $fontdir/${fonts[0]} is missing; install it with: sudo apt-get install fonts-dejavu-core" >&2
    exit 2
  fi
fi

jdk_libs() {
  for f in "$lib"/*.so "$lib"/server/libjvm.so; do
    [[ "$(basename "$f")" =~ $display_only ]] || echo "$f"
  done
}

# The package a library file came from, and its version (usrmerge: dpkg may know it under /lib).
package_of() {
  local real name q hit
  real="$(readlink -f "$1")"
  name="$(basename "$real")"
  for q in "$real" "/lib/x86_64-linux-gnu/$name" "/$name"; do
    hit="$(dpkg -S "$q" 2>/dev/null || true)"
    if [[ -n $hit ]]; then echo "${hit%%:*}"; return; fi
  done
}

manifest="$legal/MANIFEST"
if [[ -f $manifest ]]; then echo "ember bundle: $rt has its font libraries already ($manifest)" >&2; exit 0; fi
mkdir -p "$legal" "$lib/fonts"
echo "# Files Ember's bundle adds to this runtime: path, the Debian package it comes from, its version." > "$manifest"
echo "# Each package's copyright file is legal/native/PACKAGE.copyright." >> "$manifest"
add_license() { # FILE_IN_RUNTIME SOURCE_FILE
  local pkg ver
  pkg="$(package_of "$2")"
  [[ -n "$pkg" ]] || { echo "ember bundle: no Debian package owns $2: its license is unknown, not bundling it" >&2; exit 2; }
  ver="$(dpkg-query -W -f='${Version}' "$pkg")"
  cp "/usr/share/doc/$pkg/copyright" "$legal/$pkg.copyright"
  echo "${1#"$rt"/} $pkg $ver" >> "$manifest"
}

missing=""
declare -A copied=()
while read -r name arrow path _; do
  [[ "$arrow" == "=>" ]] || continue
  [[ "$name" =~ $host_base || "$name" == libjvm.so ]] && continue
  if [[ "$path" == not ]]; then missing+=" $name"; continue; fi
  [[ "$path" == "$rt"/* || -n "${copied[$name]:-}" ]] && continue
  copied[$name]=1
  cp -L "$path" "$lib/$name"
  chmod 644 "$lib/$name"
  add_license "$lib/$name" "$path"
done < <(jdk_libs | xargs ldd 2>/dev/null)
if [[ -n "$missing" ]]; then
  echo "ember bundle: the JDK's native libraries need$missing, which this machine lacks (Debian: apt-get install libharfbuzz0b libfreetype6 liblcms2-2 libjpeg62-turbo)" >&2
  exit 2
fi

for f in "${fonts[@]}"; do
  cp "$fontdir/$f" "$lib/fonts/$f"
  add_license "$lib/fonts/$f" "$fontdir/$f"
done

# Debian's copyright files point at /usr/share/common-licenses/ for full texts: those travel too.
mkdir -p "$legal/common-licenses"
{ grep -ho '/usr/share/common-licenses/[A-Za-z0-9.+_-]*[A-Za-z0-9+]' "$legal"/*.copyright || true; } | sort -u | while read -r text; do
  [[ -f $text ]] && cp "$text" "$legal/common-licenses/"
done
echo "# Full license texts the copyright files name in /usr/share/common-licenses/ are in legal/native/common-licenses/." >> "$manifest"

# Logical fonts (Dialog, SansSerif, Serif, Monospaced, DialogInput) all map to DejaVu Sans; italic
# styles to the upright faces (the plots use none). Component names are the fonts' full names.
{
  echo "# Ember bundle: every logical font is DejaVu Sans from lib/fonts (used where the host has no fontconfig)."
  echo "version=1"
  for family in dialog dialoginput sansserif serif monospaced; do
    echo "$family.plain.latin-1=DejaVu Sans"
    echo "$family.bold.latin-1=DejaVu Sans Bold"
    echo "$family.italic.latin-1=DejaVu Sans"
    echo "$family.bolditalic.latin-1=DejaVu Sans Bold"
  done
  echo "sequence.allfonts=latin-1"
  echo "filename.DejaVu_Sans=\$JRE_LIB_FONTS/DejaVuSans.ttf"
  echo "filename.DejaVu_Sans_Bold=\$JRE_LIB_FONTS/DejaVuSans-Bold.ttf"
} > "$lib/fontconfig.properties"

# Check: every kept JDK library now resolves inside the runtime or to the host's base libraries.
outside="$(jdk_libs | xargs ldd 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' \
  | grep -v -E "$host_base" | grep -v " $rt/" | sort -u || true)"
if [[ -n "$outside" ]]; then
  echo "ember bundle: the runtime still needs libraries from this machine:" >&2
  echo "$outside" >&2
  exit 2
fi
echo "ember bundle: font libraries and DejaVu Sans in the runtime ($(du -sk "$lib"/*.so.* "$lib/fonts" | awk '{s+=$1} END {print int(s/1024)}') MB unpacked)" >&2
