"""Writes the 10,000-artifact tree the audit benchmarks read.

gen-audit-tree.py DIR [--small]: sparse files of about 1 GiB (default), or real files of a few
KiB with the same structure (--small, for uploading to an object store).
"""
import json, os, struct, sys
root = sys.argv[1]
small = "--small" in sys.argv[2:]
H, F = (16, 56) if small else (4096, 14336)
HEADS, KV = (4, 2) if small else (32, 8)

def safetensors(path, layers):
    header, off = {}, 0
    for i in range(layers):
        for name, shape in ((f"model.layers.{i}.self_attn.q_proj.weight", [H, H]),
                            (f"model.layers.{i}.mlp.up_proj.weight", [F, H])):
            n = shape[0] * shape[1] * 2
            header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [off, off + n]}
            off += n
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        f.truncate(8 + len(h) + off)
    return list(header)

def gguf(path):
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
    out += s("general.architecture") + struct.pack("<I", 8) + s("llama")
    out += s("token_embd.weight") + struct.pack("<I", 2) + struct.pack("<QQ", H, 32000 if not small else 64)
    out += struct.pack("<IQ", 0, 0)
    out += b"\0" * (-len(out) % 32)
    with open(path, "wb") as f:
        f.write(out)
        f.truncate(len(out) + H * (32000 if not small else 64) * 4)

for i in range(7000):
    d = os.path.join(root, "files", f"{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    safetensors(os.path.join(d, f"model-{i}.safetensors"), 8)
for i in range(1500):
    d = os.path.join(root, "models", f"m{i:04d}")
    os.makedirs(d, exist_ok=True)
    wm = {}
    for k in (1, 2):
        shard = f"model-{k:05d}-of-00002.safetensors"
        for n in safetensors(os.path.join(d, shard), 4 * k):
            wm[n] = shard
    json.dump({"metadata": {}, "weight_map": wm},
              open(os.path.join(d, "model.safetensors.index.json"), "w"))
    json.dump({"model_type": "llama", "hidden_size": H, "num_hidden_layers": 12,
               "intermediate_size": F, "num_attention_heads": HEADS,
               "num_key_value_heads": KV, "vocab_size": 32000},
              open(os.path.join(d, "config.json"), "w"))
for i in range(1000):
    d = os.path.join(root, "gguf", f"{i % 10}")
    os.makedirs(d, exist_ok=True)
    gguf(os.path.join(d, f"q-{i}.gguf"))
os.makedirs(os.path.join(root, "junk"), exist_ok=True)
for i in range(500):
    with open(os.path.join(root, "junk", f"junk-{i}.bin"), "w") as f:
        f.write("not weights " * 10)
