#!/usr/bin/env bash
# Times `weightguard hash` against `b3sum` on the same page-cached weight file (4 GiB by default),
# in one run, alternating the two, and prints the best time of each and their ratio.
#
#   benches/hash-vs-b3sum.sh            # BYTES=4294967296 RUNS=5 by default
#
# Installs b3sum under the target directory if it is not on PATH; writes the model once under
# target/bench-hash (reused by later runs).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
bytes=${BYTES:-4294967296}
runs=${RUNS:-5}
work=$target/bench-hash

b3sum=$(command -v b3sum || true)
if [ -z "$b3sum" ]; then
  b3sum=$target/b3sum/bin/b3sum
  [ -x "$b3sum" ] || cargo install b3sum --locked --quiet --root "$target/b3sum"
fi
cargo build --release --locked --quiet --bin weightguard --example make-model
wg=$target/release/weightguard
model=$work/model-$bytes
if [ ! -f "$model/model.safetensors" ]; then
  "$target/release/examples/make-model" "$model" "$bytes"
fi
file=$model/model.safetensors
size=$(stat -c %s "$file")

# Same bytes, same digest: the whole-file digest weightguard computes alongside the tensors.
want=$("$b3sum" --no-names "$file")
got=$("$wg" hash --b3sum "$file" | awk -v f="$file" '$2 == f { print $1; exit }')
[ "$want" = "$got" ] || { echo "digest mismatch: b3sum $want, weightguard $got" >&2; exit 1; }

cat "$file" > /dev/null # page cache
now() { date +%s.%N; }
declare -A best
time_one() { # name, command…
  local name=$1 s e t
  shift
  s=$(now)
  "$@" > /dev/null
  e=$(now)
  t=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f", e - s }')
  if [ -z "${best[$name]:-}" ] || awk -v t="$t" -v b="${best[$name]}" 'BEGIN { exit !(t < b) }'; then
    best[$name]=$t
  fi
}
for _ in $(seq "$runs"); do
  time_one b3sum "$b3sum" "$file"
  time_one hash "$wg" hash "$file"
  time_one hash-b3sum "$wg" hash --b3sum "$file"
  time_one hash-no-mmap "$wg" hash --no-mmap "$file"
done

echo "file: $file ($size bytes, $(nproc) cores, best of $runs, page-cached)"
for name in b3sum hash hash-b3sum hash-no-mmap; do
  awk -v n="$name" -v t="${best[$name]}" -v b="${best[b3sum]}" -v s="$size" \
    'BEGIN { printf "  %-26s %7.3f s  %6.2f GB/s  %5.2f x b3sum\n", n, t, s / t / 1e9, t / b }'
done
awk -v t="${best[hash]}" -v b="${best[b3sum]}" \
  'BEGIN { printf "ratio weightguard hash / b3sum: %.3f\n", t / b }'
