#!/usr/bin/env bash
# usage: ab.sh TAG ROUNDS "variant ..." BENCH_REGEX [jmh args...]; variant = jar or jar@ahead
tag=$1; rounds=$2; vars=$3; regex=$4; shift 4
cd "${WORK:-/tmp/demote4}"  # the jars: base.jar (main), packed.jar (the branch)
for r in $(seq 1 $rounds); do
  for v in $vars; do
    j=${v%@*}; extra=()
    [[ $v == *@* ]] && extra=(-jvmArgsAppend "-Dember.hot.mapAhead=${v#*@}")
    for try in $(seq 1 60); do
      java @/work/wt/demote4/etc/jvm.options -jar $j.jar "$regex" -wi 2 -w 500ms -i 6 -r 500ms -f 1 "$@" "${extra[@]}" -rf json -rff $tag-$v-r$r.json > $tag-$v-r$r.log 2>&1
      grep -q "Unable to acquire the JMH lock" $tag-$v-r$r.log || break
      sleep 10
    done
    echo "$tag $v round $r done at $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
