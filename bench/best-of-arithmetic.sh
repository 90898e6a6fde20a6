#!/usr/bin/env bash
# Best-of-n on the arithmetic task (docs/benchmarks.md, "Best-of-n"): trains a reward model on synthetic pairs (the right sum
# beats a near miss: the sum without carries, or off by 1, 10 or 100) from the SFT model of `gensharp-bench arithmetic
# --out DIR`, then ranks 1…16 sampled answers to the 200 held-out questions by mean log-probability and by that reward model.
# Usage: bench/best-of-arithmetic.sh ARITHMETIC_OUT_DIR   (MODEL, PAIRS, RM_STEPS, OUT, BEST_OF_OUT override)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
arith=${1:?the --out directory of gensharp-bench arithmetic}
model=${MODEL:-$arith/full}
python3 - "$arith" "${PAIRS:-3000}" <<'PY'
import json, random, sys
arith = sys.argv[1]
rng = random.Random(5)
held = {json.loads(l)["messages"][0]["content"] for l in open(f"{arith}/heldout.jsonl")}
def digits(): return rng.randint(10, 99) if rng.random() < 0.5 else rng.randint(100, 999)
def no_carry(a, b):
    r, m = 0, 1
    while a or b:
        r += ((a % 10 + b % 10) % 10) * m; a //= 10; b //= 10; m *= 10
    return r
rows = []
while len(rows) < int(sys.argv[2]):
    a, b = digits(), digits(); q = f"What is {a} + {b}?"
    if q in held: continue
    s, k = a + b, rng.random()
    w = no_carry(a, b) if k < 0.3 else s + rng.choice([-100, -10, -1, 1, 10, 100]) if k < 0.8 else s + rng.randint(-20, 20)
    if w == s or w < 0: continue
    rows.append({"prompt": [{"role": "user", "content": q}], "chosen": [{"role": "assistant", "content": str(s)}],
                 "rejected": [{"role": "assistant", "content": str(w)}]})
with open(f"{arith}/reward-pairs.jsonl", "w") as f:
    for r in rows: f.write(json.dumps(r) + "\n")
PY
rm -rf "${OUT:-$arith/rm}"
"$root/gensharp" train reward --model "$model" --data "$arith/reward-pairs.jsonl" --out "${OUT:-$arith/rm}" --steps "${RM_STEPS:-300}" \
  --batch-size 16 --eval-fraction 0.1 --eval-interval 100
"$root/bench/GenSharp.Bench/bin/Release/net10.0/gensharp-bench" best-of --model "$model" --heldout "$arith/heldout.jsonl" --reward "${OUT:-$arith/rm}" --out "${BEST_OF_OUT:-$arith/best-of}"
