#!/usr/bin/env python3
"""Independent check of a LoRA adapter in PEFT's layout, in plain Python (no torch, no numpy).

Reads adapter_config.json and adapter_model.safetensors the way PEFT defines them — lora_A.weight (r, in),
lora_B.weight (out, r), scaling = lora_alpha / r, delta W = B @ A * scaling — applies them to one module of the
base model.safetensors, and prints the largest difference from the same tensor of a merged model.

usage: peft_merge_check.py BASE_DIR ADAPTER_DIR MERGED_DIR MODULE   (MODULE e.g. model.layers.0.self_attn.q_proj)
"""
import json, struct, sys

def read(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        info = header[name]
        assert info["dtype"] == "F32", info["dtype"]
        begin, end = info["data_offsets"]
        f.seek(8 + n + begin)
        data = f.read(end - begin)
    rows, cols = info["shape"]
    flat = struct.unpack(f"<{rows * cols}f", data)
    return [flat[r * cols:(r + 1) * cols] for r in range(rows)]

base_dir, adapter_dir, merged_dir, module = sys.argv[1:5]
config = json.load(open(f"{adapter_dir}/adapter_config.json"))
assert config["peft_type"] == "LORA"
scaling = config["lora_alpha"] / config["r"]
prefix = "base_model.model."
A = read(f"{adapter_dir}/adapter_model.safetensors", f"{prefix}{module}.lora_A.weight")   # (r, in)
B = read(f"{adapter_dir}/adapter_model.safetensors", f"{prefix}{module}.lora_B.weight")   # (out, r)
W = read(f"{base_dir}/model.safetensors", f"{module}.weight")                             # (out, in)
M = read(f"{merged_dir}/model.safetensors", f"{module}.weight")
r = len(A)
assert len(B[0]) == r and len(A[0]) == len(W[0]) and len(B) == len(W), "shapes do not follow PEFT's convention"
worst = 0.0
for o in range(len(W)):
    for i in range(len(W[0])):
        expected = W[o][i] + scaling * sum(B[o][k] * A[k][i] for k in range(r))
        worst = max(worst, abs(expected - M[o][i]))
print(f"{module}: r {r}, scaling {scaling}, max |W + scaling*B@A - merged| = {worst:.3g}")
sys.exit(0 if worst <= 1e-5 else 1)
