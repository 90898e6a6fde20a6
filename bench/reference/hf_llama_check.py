#!/usr/bin/env python3
"""Independent check that a GenSharp model directory means the same thing as HF transformers' Llama, Mistral or Qwen2.

Re-implements the forward pass of transformers' LlamaForCausalLM (modeling_llama.py: LlamaRMSNorm in fp32,
rotary embeddings with rotate_half, repeat_kv for grouped-query attention, causal softmax attention,
SwiGLU MLP, optional tied lm_head) in plain PyTorch, loads config.json + model.safetensors with its own
safetensors parser (F32/F16/BF16, one file or the shards model.safetensors.index.json names; Qwen2's q/k/v biases),
and compares the logits with those GenSharp computed (`gensharp-bench logits`).
Usage: /usr/bin/python3 hf_llama_check.py MODEL_DIR LOGITS.safetensors
"""
import json, struct, sys
import torch

def load_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n]); base = 8 + n
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
    out = {}
    for name, e in header.items():
        if name == "__metadata__": continue
        b, en = e["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + b:base + en]), dtype=dtypes[e["dtype"]]).reshape(e["shape"])
        out[name] = t.float() if t.is_floating_point() else t
    return out

def rms_norm(x, w, eps):
    x = x.to(torch.float32)
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)

def forward(cfg, w, ids):
    H, KV, C = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    D = C // H; B, T = ids.shape; eps = cfg["rms_norm_eps"]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
    rs = cfg.get("rope_scaling")
    if rs:   # transformers' modeling_rope_utils: linear, llama3
        kind, factor = rs.get("rope_type", rs.get("type")), rs["factor"]
        if kind == "linear":
            inv_freq = inv_freq / factor
        else:
            assert kind == "llama3"
            lo, hi, old = rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
            wavelen = 2 * torch.pi / inv_freq
            scaled = torch.where(wavelen > old / lo, inv_freq / factor, inv_freq)
            smooth = (old / wavelen - lo) / (hi - lo)
            smoothed = (1 - smooth) * scaled / factor + smooth * scaled
            medium = ~(wavelen < old / hi) * ~(wavelen > old / lo)
            inv_freq = torch.where(medium, smoothed, scaled)
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1); cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf")).triu(1)
    x = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        bias = lambda n: w.get(p + f"self_attn.{n}_proj.bias", 0)   # Qwen2 only
        q = (h @ w[p + "self_attn.q_proj.weight"].T + bias("q")).view(B, T, H, D).transpose(1, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T + bias("k")).view(B, T, KV, D).transpose(1, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T + bias("v")).view(B, T, KV, D).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k = k[:, :, None].expand(B, KV, H // KV, T, D).reshape(B, H, T, D)   # repeat_kv
        v = v[:, :, None].expand(B, KV, H // KV, T, D).reshape(B, H, T, D)
        att = torch.softmax(q @ k.transpose(2, 3) / D ** 0.5 + mask, dim=-1)
        x = x + (att @ v).transpose(1, 2).reshape(B, T, C) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T

model_dir, dump = sys.argv[1], sys.argv[2]
cfg = json.load(open(f"{model_dir}/config.json"))
families = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}
assert cfg["architectures"] == [families[cfg["model_type"]]]
try:
    shards = sorted(set(json.load(open(f"{model_dir}/model.safetensors.index.json"))["weight_map"].values()))
except FileNotFoundError:
    shards = ["model.safetensors"]
weights = {k: v for f in shards for k, v in load_safetensors(f"{model_dir}/{f}").items()}
ref = load_safetensors(dump)
with torch.no_grad():
    logits = forward(cfg, weights, ref["input_ids"])
diff = (logits - ref["logits"]).abs().max().item()
same_argmax = bool((logits.argmax(-1) == ref["logits"].argmax(-1)).all())
print(json.dumps({"model": model_dir, "family": cfg["model_type"], "shards": len(shards), "tokens": ref["input_ids"].shape[1], "max_abs_logit_diff": diff,
                  "logit_scale": ref["logits"].abs().max().item(), "same_argmax": same_argmax}))
sys.exit(0 if diff < 1e-3 and same_argmax else 1)
