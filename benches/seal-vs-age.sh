#!/usr/bin/env bash
# Times `weightguard seal` and `weightguard open` against the `age` CLI on the same weight file
# (4 GiB by default), in one run, each writing its output to the same filesystem, and prints the
# best time of each, the ratios, and each command's peak memory (max RSS).
#
#   benches/seal-vs-age.sh          # BYTES=4294967296 RUNS=3 by default
#
# weightguard seal also hashes every tensor and file and writes the signed manifest; open also
# verifies every digest before renaming the output into place. age does neither.
#
# OUT=DIR puts every output (both tools') on another filesystem, e.g. OUT=/dev/shm/wg-bench to
# take the disk out of the measurement. The `-1core` rows run weightguard under `taskset -c 0`,
# to show how throughput grows with cores: on a machine whose disk writes slower than the tools
# encrypt, both are bound by the disk and the ratio says nothing about the tools.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
bytes=${BYTES:-4294967296}
runs=${RUNS:-3}
work=$target/bench-seal
command -v age >/dev/null || scripts/test-deps
cargo build --release --locked --quiet --bin weightguard --example make-model
wg=$target/release/weightguard
model=$work/model-$bytes
if [ ! -f "$model/model.safetensors" ]; then
  "$target/release/examples/make-model" "$model" "$bytes" >/dev/null
fi
file=$model/model.safetensors
size=$(stat -c %s "$file")
keys=$work/keys
[ -f "$keys/identity.txt" ] || "$wg" keygen --out "$keys" >/dev/null
recipient=$(cat "$keys/recipient.txt")
out=${OUT:-$work/out}
mkdir -p "$out"

declare -A best rss
# name, command… : wall time and max RSS (KiB) of the command, best of the runs.
time_one() {
  local name=$1 t m
  shift
  rm -rf "$out"/*
  sync
  cat "$file" > /dev/null
  /usr/bin/time -f '%e %M' -o "$work/stats" "$@" > /dev/null 2>&1
  read -r t m < "$work/stats"
  if [ -z "${best[$name]:-}" ] || awk -v t="$t" -v b="${best[$name]}" 'BEGIN { exit !(t < b) }'; then
    best[$name]=$t
  fi
  rss[$name]=$m
}
# Envelopes to open, made once.
envs=$(dirname "$out")/wg-bench-envelopes
mkdir -p "$envs"
# Several GB each: removed however the run ends (tmpfs holds them in memory).
trap 'rm -rf "$out" "$envs"' EXIT
"$wg" seal "$model" -r "$recipient" --destination DE --signing-key "$keys/signing.key" \
  -o "$envs/model.wg.age" --tokens 1e12 --force >/dev/null
age -r "$recipient" -o "$envs/model.age" "$file"
for _ in $(seq "$runs"); do
  time_one age-encrypt age -r "$recipient" -o "$out/x.age" "$file"
  time_one wg-seal "$wg" seal "$model" -r "$recipient" --destination DE \
    --signing-key "$keys/signing.key" -o "$out/x.wg.age" --tokens 1e12
  time_one age-decrypt age -d -i "$keys/identity.txt" -o "$out/x.bin" "$envs/model.age"
  time_one wg-seal-1core taskset -c 0 "$wg" seal "$model" -r "$recipient" --destination DE \
    --signing-key "$keys/signing.key" -o "$out/x1.wg.age" --tokens 1e12
  time_one wg-open-1core taskset -c 0 "$wg" open "$envs/model.wg.age" -i "$keys/identity.txt" \
    --signer "$keys/signing.pub" --site-country DE -o "$out/opened1"
  time_one wg-open "$wg" open "$envs/model.wg.age" -i "$keys/identity.txt" \
    --signer "$keys/signing.pub" --site-country DE -o "$out/opened"
done
rm -rf "$out" "$envs"

echo "file: $file ($size bytes, $(nproc) cores, best of $runs, input page-cached, outputs in $out)"
for name in age-encrypt wg-seal wg-seal-1core age-decrypt wg-open wg-open-1core; do
  awk -v n="$name" -v t="${best[$name]}" -v s="$size" -v m="${rss[$name]}" \
    'BEGIN { printf "  %-12s %7.2f s  %6.2f GB/s  max RSS %6.1f MiB\n", n, t, s / t / 1e9, m / 1024 }'
done
awk -v a="${best[age-encrypt]}" -v w="${best[wg-seal]}" -v d="${best[age-decrypt]}" -v o="${best[wg-open]}" \
  'BEGIN { printf "  seal is %.2fx the age CLI'"'"'s speed; open is %.2fx\n", a / w, d / o }'
awk -v s1="${best[wg-seal-1core]}" -v s2="${best[wg-seal]}" -v o1="${best[wg-open-1core]}" -v o2="${best[wg-open]}" \
  'BEGIN { printf "  on all cores vs one (taskset): seal %.2fx faster, open %.2fx faster\n", s1 / s2, o1 / o2 }'
