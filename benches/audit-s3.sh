#!/usr/bin/env bash
# Audits the 10,000-artifact tree of benches/audit-10k.sh (small real files instead of sparse
# ones) from a SeaweedFS S3 server on loopback, and prints artifacts per second.
#
#   benches/audit-s3.sh [CONCURRENCY]     (default 32)
#
# Needs .venv/bin/weed (scripts/test-deps installs it). The server, its data and the tree live
# in a temporary directory removed afterwards. Loopback hides network latency: on a real
# endpoint the rate is bounded by concurrency / request latency (one ranged GET per object).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x target/release/weightguard ] || cargo build --release --locked
weed=.venv/bin/weed
[ -x "$weed" ] || { echo "no $weed: run scripts/test-deps" >&2; exit 1; }
concurrency="${1:-32}"
dir="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
python3 benches/gen-audit-tree.py "$dir/store" --small
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p=(); for _ in 1 2 3 4 5 6 7 8; do p+=("$(port)"); done
cat > "$dir/s3.json" <<JSON
{"identities":[{"name":"bench","credentials":[{"accessKey":"bench","secretKey":"bench-secret"}],"actions":["Admin","Read","Write","List"]}]}
JSON
mkdir "$dir/data"
"$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir/data" \
  -master.port="${p[0]}" -master.port.grpc="${p[1]}" -volume.port="${p[2]}" -volume.port.grpc="${p[3]}" \
  -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" -s3 -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" \
  -s3.config="$dir/s3.json" -volume.max=16 -master.volumeSizeLimitMB=256 >"$dir/weed.log" 2>&1 &
pid=$!
for _ in $(seq 120); do
  curl -s -o /dev/null "http://127.0.0.1:${p[4]}/" && curl -s -o /dev/null "http://127.0.0.1:${p[6]}/" && break
  sleep 0.5
done
sleep 2
start=$(date +%s.%N)
python3 - "$dir/store" "http://127.0.0.1:${p[4]}/buckets/bench/store" <<'PY'
import os, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
root, base = sys.argv[1], sys.argv[2]
files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
def put(path):
    rel = os.path.relpath(path, root)
    with open(path, "rb") as f:
        req = urllib.request.Request(f"{base}/{rel}", data=f.read(), method="PUT")
    urllib.request.urlopen(req).read()
with ThreadPoolExecutor(16) as ex:
    list(ex.map(put, files))
PY
echo "uploaded $(find "$dir/store" -type f | wc -l) objects in $(echo "$(date +%s.%N) - $start" | bc | cut -c1-5) s"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:${p[6]}" AWS_ALLOW_HTTP=true
start=$(date +%s.%N)
target/release/weightguard audit s3://bench/store --concurrency "$concurrency" --format jsonl \
  --fail-on none --no-progress -o "$dir/out.jsonl"
end=$(date +%s.%N)
n=$(wc -l < "$dir/out.jsonl")
python3 -c "import sys; n, t = int(sys.argv[1]), float(sys.argv[2]); print(f'S3 (loopback SeaweedFS, concurrency $concurrency): {n} artifacts in {t:.2f} s: {n / t:.0f} artifacts/s')" "$n" "$(echo "$end - $start" | bc)"
python3 - "$dir/out.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"read {sum(r['bytes_read'] for r in rows) / 2**20:.1f} MiB of {sum(r['size'] for r in rows) / 2**20:.1f} MiB stored")
PY
