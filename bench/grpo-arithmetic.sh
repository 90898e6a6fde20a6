#!/usr/bin/env bash
# GRPO on the fine-tuning issue's arithmetic task (docs/benchmarks.md, "GRPO"): starts from the full-SFT model of
# `gensharp-bench arithmetic --out DIR` and answers the same 200 held-out questions before and after, greedily.
# Prompts are new questions (none of the held-out ones); the reward is exact match with the sum.
# Usage: bench/grpo-arithmetic.sh ARITHMETIC_OUT_DIR [RUN_DIR]   (STEPS, GROUP, PROMPTS, LR, BETA, METHOD override)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
arith=${1:?the --out directory of gensharp-bench arithmetic}; run=${2:-$arith/grpo}
model=${MODEL:-$arith/full}
python3 - "$arith" <<'PY'
import json, random, sys
arith = sys.argv[1]
held = [json.loads(l) for l in open(f"{arith}/heldout.jsonl")]
seen = {m["messages"][0]["content"] for m in held}
rng = random.Random(11)
def digits(): return rng.randint(10, 99) if rng.random() < 0.5 else rng.randint(100, 999)
rows = []
while len(rows) < 4000:
    a, b = digits(), digits()
    q = f"What is {a} + {b}?"
    if q in seen: continue
    rows.append({"prompt": [{"role": "user", "content": q}], "answer": str(a + b)})
# The held-out questions last: --eval-fraction takes exactly them.
rows += [{"prompt": [m["messages"][0]], "answer": m["messages"][1]["content"]} for m in held]
with open(f"{arith}/grpo-prompts.jsonl", "w") as f:
    for r in rows: f.write(json.dumps(r) + "\n")
print(f"{len(rows) - len(held)} training prompts, {len(held)} held-out (the arithmetic benchmark's)")
PY
frac=$(python3 -c "print(200/4200)")
rm -rf "$run"
"$root/gensharp" align grpo --model "$model" --prompts "$arith/grpo-prompts.jsonl" --reward exact-match --out "$run" \
  --method "${METHOD:-full}" --steps "${STEPS:-150}" --group-size "${GROUP:-8}" --prompts-per-step "${PROMPTS:-8}" --max-tokens 6 \
  --temperature 1.0 --lr "${LR:-1e-5}" --beta "${BETA:-0.04}" --eval-fraction "$frac" --eval-interval "${EVAL:-25}"
grep eval_reward "$run/metrics.jsonl"
