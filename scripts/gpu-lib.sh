# Shared by the scripts/gpu-*.sh scripts (sourced): the bundle unpacked, the machine recorded,
# the generated data.

# Unpacks the bundle (EMBER_BUNDLE, default dist/ember-bundle.tar.xz) into /tmp/ember-bundle; sets b.
unpack_bundle() {
  b=/tmp/ember-bundle
  rm -rf "$b" && mkdir -p "$b" && tar xJf "${EMBER_BUNDLE:-dist/ember-bundle.tar.xz}" -C "$b"
}

# Writes the card, the host's cores and kernel to DIR/machine.txt.
record_machine() {
  { nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; nproc; uname -r; } > "$1/machine.txt" 2>&1
}

# Generates SAMPLES (default 10M) samples into /tmp/data.tsv and converts them, logs in DIR.
generate_data() {
  "$b/ember/ember" gen-data --no-progress --out /tmp/data.tsv --samples "${SAMPLES:-10000000}" --seed 1 > "$1/gen.txt" 2>&1
  "$b/ember/ember" convert --no-progress /tmp/data.tsv > "$1/convert.txt" 2>&1
}
