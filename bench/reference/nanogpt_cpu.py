#!/usr/bin/env python3
"""Reference for side-by-side benchmarks: nanoGPT's model and training loop on CPU with PyTorch.

Our own compact re-implementation of nanoGPT's GPT-2-style architecture (learned positions, LayerNorm,
GELU MLP 4x, no biases, tied embeddings) and of its train.py defaults for config/train_shakespeare_char.py
run as nanoGPT's README suggests for CPU:
  --device=cpu --compile=False --eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12
  --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0
Needs Debian's python3-torch (1.13) and libopenblas0-pthread; run with /usr/bin/python3.
Prints one JSON line with ms/iter (training steps only), tokens/s, final val loss and wall time.
"""
import argparse, json, math, os, sys, time
import torch
import torch.nn as nn
from torch.nn import functional as F

p = argparse.ArgumentParser()
p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../data/tinyshakespeare.txt"))
p.add_argument("--iters", type=int, default=2000)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--eval", type=int, default=1, help="0: skip evaluation (speed only)")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1337)

n_layer, n_head, n_embd, block, batch = 4, 4, 128, 64, 12
lr, min_lr, warmup, decay_iters, wd, beta2, clip = 1e-3, 1e-4, 100, a.iters, 0.1, 0.99, 1.0
eval_interval, eval_iters = 250, 20

text = open(a.data, encoding="utf-8").read()
chars = sorted(set(text)); stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(data)); train, val = data[:n], data[n:]
vocab = len(chars)

def get_batch(split):
    d = train if split == "train" else val
    ix = torch.randint(len(d) - block, (batch,))
    return torch.stack([d[i:i + block] for i in ix]), torch.stack([d[i + 1:i + 1 + block] for i in ix])

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, elementwise_affine=True); self.ln_1.bias = None
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=False)
        self.ln_2 = nn.LayerNorm(n_embd); self.ln_2.bias = None
        self.fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.proj = nn.Linear(4 * n_embd, n_embd, bias=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(F.layer_norm(x, (C,), self.ln_1.weight)).split(n_embd, dim=2)
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, "scaled_dot_product_attention") else None
        if y is None:  # PyTorch < 2.0: nanoGPT's slow path
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).tril().logical_not(), float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.proj(F.gelu(self.fc(F.layer_norm(x, (C,), self.ln_2.weight))))

class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd); self.wpe = nn.Embedding(block, n_embd)
        self.h = nn.ModuleList([Block() for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False); self.lm_head.weight = self.wte.weight
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight") or name.endswith("proj.weight"):
                torch.nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))

    def _init(self, m):
        if isinstance(m, (nn.Linear, nn.Embedding)): torch.nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.size(1)))
        for b in self.h: x = b(x)
        logits = self.lm_head(F.layer_norm(x, (n_embd,), self.ln_f.weight))
        return F.cross_entropy(logits.view(-1, vocab), targets.view(-1))

model = GPT()
params = [p for p in model.parameters() if p.requires_grad]
n_params = sum(p.numel() for p in params) - block * n_embd  # nanoGPT excludes position embeddings
opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": wd},
                         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}], lr=lr, betas=(0.9, beta2))

def get_lr(it):
    if it < warmup: return lr * (it + 1) / (warmup + 1)
    if it > decay_iters: return min_lr
    return min_lr + 0.5 * (1 + math.cos(math.pi * (it - warmup) / (decay_iters - warmup))) * (lr - min_lr)

@torch.no_grad()
def estimate(split):
    model.eval(); l = sum(model(*get_batch(split)).item() for _ in range(eval_iters)) / eval_iters; model.train(); return l

start, step_time, val_loss = time.time(), 0.0, None
for it in range(a.iters + 1):
    if a.eval and (it % eval_interval == 0 or it == a.iters):
        val_loss = estimate("val")
        print(f"iter {it}: val {val_loss:.4f}", file=sys.stderr, flush=True)
    if it == a.iters: break
    t0 = time.time()
    for g in opt.param_groups: g["lr"] = get_lr(it)
    x, y = get_batch("train")
    loss = model(x, y)
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step(); loss.item()
    if it >= 10: step_time += time.time() - t0

ms = step_time / max(1, a.iters - 10) * 1000
print(json.dumps({"impl": "nanoGPT (PyTorch %s)" % torch.__version__, "params": n_params, "ms_per_iter": round(ms, 2),
                  "tokens_per_s": round(batch * block / (ms / 1000)), "val_loss": val_loss, "wall_s": round(time.time() - start, 1)}))
