#!/usr/bin/env bash
# Builds dist/ember-bundle.tar.xz: a jlink runtime, Ember's jars, the launcher and etc/, so Ember runs
# on an x86-64 Linux machine with no JVM (the GPU machine). With --with-tests it also holds the
# test classes, the JUnit console launcher and the JMH suites, to run the whole suite there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
with_tests=0
out="$root/dist"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --with-tests) with_tests=1 ;;
    --out) out="$2"; shift ;;
    -h|--help) echo "usage: ember bundle [--with-tests] [--out DIR]"; exit 0 ;;
    *) echo "ember bundle: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

jdk="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
jlink="$jdk/bin/jlink"
[[ -x "$jlink" ]] || { echo "ember bundle: no jlink in $jdk (a full JDK 17+ is needed; set JAVA_HOME)" >&2; exit 2; }
[[ -d "$jdk/jmods" ]] || { echo "ember bundle: $jdk has no jmods (on Debian: apt-get install openjdk-17-jdk-headless)" >&2; exit 2; }

echo "ember bundle: building jars..." >&2
./mvnw -q -B -DskipTests package >&2

stage="$out/ember"
rm -rf "$stage" "$out/ember-bundle.tar.xz"
mkdir -p "$stage/lib" "$stage/etc"
# Modules: PLATFORM.md's list, plus those JMX, attach, PNG reports and JFR profiles need.
modules=java.base,java.logging,java.management,jdk.management,jdk.unsupported,jdk.compiler,java.naming,java.sql,jdk.zipfs,jdk.attach,jdk.management.agent,java.management.rmi,jdk.naming.rmi,java.desktop,jdk.crypto.ec,jdk.jfr
# No image compression: xz over the plain image makes a smaller tarball than zip inside it.
"$jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=0 --output "$stage/runtime"
# The report's PNG plots: the font libraries the JDK links against and a font, in the runtime.
"$root/etc/bundle-fonts.sh" "$stage/runtime"
cp trainer/target/lib/*.jar "$stage/lib/"
cp "$(ls trainer/target/ember-trainer-*.jar | grep -v -e sources -e tests | head -n1)" "$stage/lib/"
cp etc/jvm.options etc/bundle-tests.sh "$stage/etc/"
cp ember "$stage/ember"

if [[ $with_tests == 1 ]]; then
  mkdir -p "$stage/test"
  for m in cache-engine gpu-tier trainer; do
    [[ -d $m/target/test-classes ]] && jar cf "$stage/test/ember-$m-tests.jar" -C "$m/target/test-classes" .
  done
  jupiter="$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml)"
  platform="1.${jupiter#5.}"
  ./mvnw -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" -DoutputDirectory="$stage/test" >&2
  # JMH suites: the thin module jar and JMH's own jars; Ember's jars are already in lib/.
  cp jmh/target/ember-jmh-*.jar jmh/target/jmh-lib/*.jar "$stage/test/"
fi

tar -C "$out" -cJf "$out/ember-bundle.tar.xz" ember
size=$(du -m "$out/ember-bundle.tar.xz" | cut -f1)
echo "ember bundle: $out/ember-bundle.tar.xz (${size} MB)"
