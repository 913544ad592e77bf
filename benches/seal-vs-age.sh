#!/usr/bin/env bash
# Times `weightguard seal` and `weightguard open` against the `age` CLI on the same weight file
# (2 GiB by default), in one run, each writing its output to the same filesystem: paired runs
# (age, weightguard, age, weightguard…), the median of RUNS of each, peak memory (max RSS), and
# the LIMIT the machine allows, computed from the primitives timed alone on this machine.
#
#   benches/seal-vs-age.sh          # BYTES=2147483648 RUNS=3 by default
#   OUT=/dev/shm/wg-bench benches/seal-vs-age.sh    # outputs in tmpfs: the disk out of it
#   WG=path/to/weightguard benches/seal-vs-age.sh   # another build (to compare two versions)
#
# weightguard seal also hashes every tensor and file and writes the signed manifest; open also
# verifies every digest and fsyncs before renaming the output into place. age does neither: the
# `durable` rows are `age … && sync FILE`, the fair peer on a disk. The `-1core` rows run under
# `taskset -c 0`.
#
# The limit: every byte is read (one copy out of the page cache), encrypted or decrypted
# (ChaCha20-Poly1305), hashed (BLAKE3) and written (the kernel's copy into the page cache, with
# its page allocation: what `dd` of the same bytes in 64 KiB blocks costs on the output
# filesystem). All four are CPU work on the same cores (the write too: `dd`'s time is system
# time), so the best wall time is their sum spread over the cores (`examples/primitives.rs` times
# the first three, one core each), and never less than one writer's `dd`. The fsync that
# durability adds on a disk is printed beside it: seal and open pay it too, overlapped with the
# writing.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
bytes=${BYTES:-2147483648}
runs=${RUNS:-3}
work=$target/bench-seal
command -v age >/dev/null || scripts/test-deps
cargo build --release --locked --quiet --bin weightguard --example make-model --example primitives
wg=${WG:-$target/release/weightguard}
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

declare -A times rss
# name, command… : appends the wall time, keeps the max RSS (KiB).
time_one() {
  local name=$1 t m
  shift
  # Every input warm: the model, and the envelopes `open` and `age -d` read (seal's background
  # writeback drops an envelope's pages from the cache once they are on the disk).
  cat "$file" "$envs"/* > /dev/null
  # Then the previous output goes, just before the run: the memory it held is what the run's
  # output reuses. On a VM whose balloon reports free memory to the host (virtio-balloon free
  # page reporting, ~2 s after it is freed: this machine), memory left free for longer is
  # reclaimed by the host, and writing into it again faults on the host: 0.8-7.2 s per 2 GiB
  # (2026-12-01/02) instead of 0.6-1.1 s, at random, for whichever tool runs then (the `cold
  # memory` line below).
  rm -rf "${out:?}"/*
  sync
  /usr/bin/time -f '%e %M' -o "$work/stats" "$@" > /dev/null 2>&1
  read -r t m < "$work/stats"
  times[$name]="${times[$name]:-} $t"
  rss[$name]=$m
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

envs=$(dirname "$out")/wg-bench-envelopes
mkdir -p "$envs"
busy=""
trap 'rm -rf "$out" "$envs"; [ -z "$busy" ] || kill "$busy" 2>/dev/null' EXIT
# BUSY=1: another process keeps one core busy for the whole run (a spinning shell).
if [ -n "${BUSY:-}" ]; then
  sh -c 'while :; do :; done' &
  busy=$!
fi
"$wg" seal "$model" -r "$recipient" --destination DE --signing-key "$keys/signing.key" \
  -o "$envs/model.wg.age" --tokens 1e12 --force >/dev/null
age -r "$recipient" -o "$envs/model.age" "$file"
open_args=(open "$envs/model.wg.age" -i "$keys/identity.txt" --signer "$keys/signing.pub" --site-country DE)
for _ in $(seq "$runs"); do
  time_one age-encrypt age -r "$recipient" -o "$out/x.age" "$file"
  time_one wg-seal "$wg" seal "$model" -r "$recipient" --destination DE \
    --signing-key "$keys/signing.key" -o "$out/x.wg.age" --tokens 1e12
  time_one age-enc+sync sh -c "age -r '$recipient' -o '$out/x.age' '$file' && sync '$out/x.age'"
  time_one age-decrypt age -d -i "$keys/identity.txt" -o "$out/x.bin" "$envs/model.age"
  time_one wg-open "$wg" "${open_args[@]}" -o "$out/opened"
  time_one age-dec+sync sh -c "age -d -i '$keys/identity.txt' -o '$out/x.bin' '$envs/model.age' && sync '$out/x.bin'"
  time_one wg-seal-1core taskset -c 0 "$wg" seal "$model" -r "$recipient" --destination DE \
    --signing-key "$keys/signing.key" -o "$out/x1.wg.age" --tokens 1e12
  time_one wg-open-1core taskset -c 0 "$wg" "${open_args[@]}" -o "$out/opened1"
done

# The limit, from primitives measured now.
# Best of three: a single dd is as noisy as the tools.
dd_t=""
for _ in 1 2 3; do
  rm -f "$out/dd"
  sync
  t=$( { /usr/bin/time -f '%e' dd if=/dev/zero of="$out/dd" bs=64K count=$((size / 65536)) status=none; } 2>&1 | tail -1)
  fsync_t=$( { /usr/bin/time -f '%e' sync "$out/dd"; } 2>&1 | tail -1)
  if [ -z "$dd_t" ] || awk -v t="$t" -v b="$dd_t" 'BEGIN { exit !(t < b) }'; then dd_t=$t; fi
done
rm -f "$out/dd"
# The same write into memory freed long enough ago for the host to have taken it back (see
# time_one): not in the limit, which assumes memory as the runs find it, but printed beside it.
sleep 10
cold_t=$( { /usr/bin/time -f '%e' dd if=/dev/zero of="$out/dd" bs=64K count=$((size / 65536)) status=none; } 2>&1 | tail -1)
rm -f "$out/dd"
# The device's own write speed, past the page cache (O_DIRECT; tmpfs has no device): a durable
# write of these bytes takes at least this long, however the CPU work is spread.
device_t=""
if [ "$(stat -f -c %T "$out")" != tmpfs ] && t=$( { /usr/bin/time -f '%e' dd if=/dev/zero of="$out/dd" bs=8M count=$((size / 8388608)) oflag=direct status=none; } 2>&1 | tail -1) \
  && [ -s "$out/dd" ]; then
  device_t=$t
fi
rm -f "$out/dd"
read -r chacha blake3 memcpy < <("$target/release/examples/primitives" 256 | awk '{ printf "%s ", $2 } END { print "" }')
cores=$(nproc)
limit=$(awk -v s="$size" -v c="$chacha" -v b="$blake3" -v m="$memcpy" -v n="$cores" -v w="$dd_t" \
  'BEGIN { cpu = (s / c + s / b + s / m + w) / n; print (cpu > w) ? cpu : w }')

echo "file: $file ($size bytes, $cores cores, median of $runs paired runs, inputs page-cached, outputs in $out)"
printf '  primitives, one core: ChaCha20-Poly1305 %.2f GB/s, BLAKE3 %.2f GB/s, copy %.2f GB/s; writing %s bytes into the page cache (64 KiB writes): %.2f s, then fsync: %.2f s\n' \
  "$(awk -v x="$chacha" 'BEGIN { print x / 1e9 }')" "$(awk -v x="$blake3" 'BEGIN { print x / 1e9 }')" \
  "$(awk -v x="$memcpy" 'BEGIN { print x / 1e9 }')" "$size" "$dd_t" "$fsync_t"
printf '  the same write into memory freed 10 s earlier (cold memory: the host may have reclaimed it): %.2f s\n' "$cold_t"
if [ -n "$device_t" ]; then
  printf '  the device alone (O_DIRECT, 8 MiB writes): %.2f s for %s bytes: the floor of any durable write of them\n' "$device_t" "$size"
fi
[ -z "$busy" ] || echo "  (BUSY: another process kept one core busy throughout)"
printf '  limit (reading, AEAD, hashing and writing, summed and spread over %s cores): %.2f s for seal or open\n' "$cores" "$limit"
declare -A med
for name in age-encrypt age-enc+sync wg-seal wg-seal-1core age-decrypt age-dec+sync wg-open wg-open-1core; do
  med[$name]=$(echo "${times[$name]}" | median)
  awk -v n="$name" -v t="${med[$name]}" -v s="$size" -v m="${rss[$name]}" -v l="$limit" -v all="${times[$name]}" \
    'BEGIN { printf "  %-13s %6.2f s  %5.2f GB/s  %4.2fx the limit  max RSS %6.1f MiB  (runs:%s)\n", n, t, s / t / 1e9, t / l, m / 1024, all }'
done
awk -v a="${med[age-encrypt]}" -v as="${med[age-enc+sync]}" -v w="${med[wg-seal]}" \
    -v d="${med[age-decrypt]}" -v ds="${med[age-dec+sync]}" -v o="${med[wg-open]}" \
  'BEGIN { printf "  seal: %.2fx age -r, %.2fx age -r && sync; open: %.2fx age -d, %.2fx age -d && sync\n", a / w, as / w, d / o, ds / o }'
awk -v s1="${med[wg-seal-1core]}" -v s2="${med[wg-seal]}" -v o1="${med[wg-open-1core]}" -v o2="${med[wg-open]}" \
  'BEGIN { printf "  on all cores vs one (taskset): seal %.2fx faster, open %.2fx faster\n", s1 / s2, o1 / o2 }'
