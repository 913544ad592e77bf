#!/usr/bin/env bash
# Issue 18: in one run on the same model, `seal -o s3://…` against the two-step path (seal to a
# local file, then `aws s3 cp`) and `open s3://…` against download-then-open, on a SeaweedFS
# server on loopback; prints times, ratios and peak memory (GNU time's maximum resident set).
# Needs .venv/bin/weed and awscli in .venv (`.venv/bin/pip install awscli`). BYTES sets the model
# size (default 2 GiB).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
bytes=${BYTES:-2147483648}
weed=.venv/bin/weed
aws=.venv/bin/aws
[ -x "$weed" ] || { echo "no $weed: run scripts/test-deps" >&2; exit 1; }
[ -x "$aws" ] || { echo "no $aws: .venv/bin/pip install awscli" >&2; exit 1; }
cargo build --release --locked --quiet --bin weightguard --example make-model
wg=$target/release/weightguard
work=$target/bench-s3
model=$work/model-$bytes
mkdir -p "$work"
[ -f "$model/model.safetensors" ] || "$target/release/examples/make-model" "$model" "$bytes" >/dev/null
keys=$work/keys
[ -f "$keys/identity.txt" ] || "$wg" keygen --out "$keys" >/dev/null
dir=$(mktemp -d -p "$work")
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p=(); for _ in 1 2 3 4 5 6 7 8; do p+=("$(port)"); done
echo '{"identities":[{"name":"bench","credentials":[{"accessKey":"bench","secretKey":"bench-secret"}],"actions":["Admin","Read","Write","List"]}]}' > "$dir/s3.json"
mkdir "$dir/data"
"$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir/data" \
  -master.port="${p[0]}" -master.port.grpc="${p[1]}" -volume.port="${p[2]}" -volume.port.grpc="${p[3]}" \
  -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" -s3 -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" \
  -s3.config="$dir/s3.json" -volume.max=32 -master.volumeSizeLimitMB=1024 >"$dir/weed.log" 2>&1 &
pid=$!
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL="http://127.0.0.1:${p[6]}" AWS_ALLOW_HTTP=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
for _ in $(seq 120); do "$aws" s3 mb s3://bench >/dev/null 2>&1 && break; sleep 0.5; done
seal=(-r "$(cat "$keys/recipient.txt")" --destination DE --signing-key "$keys/signing.key" --tokens 1e18)
open=(-i "$keys/identity.txt" --signer "$keys/signing.pub" --site-country DE)
# time_one NAME CMD…: seconds and peak RSS (KiB) of CMD.
time_one() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/t" "$@" >/dev/null
  read -r secs kib < "$dir/t"
  echo "$name $secs $kib" | tee -a "$dir/results"
}
time_one stream-seal "$wg" seal "$model" "${seal[@]}" -o s3://bench/stream.age
time_one local-seal "$wg" seal "$model" "${seal[@]}" -o "$dir/local.age"
time_one aws-cp-up "$aws" s3 cp --quiet "$dir/local.age" s3://bench/two-step.age
time_one stream-open "$wg" open s3://bench/stream.age "${open[@]}" -o "$dir/opened-stream"
time_one aws-cp-down "$aws" s3 cp --quiet s3://bench/two-step.age "$dir/down.age"
time_one local-open "$wg" open "$dir/down.age" "${open[@]}" -o "$dir/opened-local"
python3 - "$dir/results" "$bytes" <<'PY'
import sys
r = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
gib = int(sys.argv[2]) / 2**30
two_seal = r["local-seal"][0] + r["aws-cp-up"][0]
two_open = r["aws-cp-down"][0] + r["local-open"][0]
print(f"model {gib:.2f} GiB")
print(f"seal -o s3://  {r['stream-seal'][0]:7.2f} s  peak {r['stream-seal'][1]/1024:6.0f} MiB | seal + aws s3 cp {two_seal:7.2f} s | {two_seal / r['stream-seal'][0]:.2f}x")
print(f"open s3://     {r['stream-open'][0]:7.2f} s  peak {r['stream-open'][1]/1024:6.0f} MiB | aws s3 cp + open {two_open:7.2f} s | {two_open / r['stream-open'][0]:.2f}x")
print(f"local seal peak {r['local-seal'][1]/1024:.0f} MiB, local open peak {r['local-open'][1]/1024:.0f} MiB")
PY
