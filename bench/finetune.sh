#!/usr/bin/env bash
# Domain adaptation of the bundled Shakespeare model to Debian's fortunes (docs/benchmarks.md, "Fine-tuning"):
# held-out fortunes loss and Shakespeare loss (forgetting) before and after full fine-tuning and LoRA r = 4, 8, 16,
# with trainable parameters, ms/step and peak memory of each run. Fortunes' characters outside the model's 65 are
# dropped so that "before" and "after" score the same text with the same tokenizer.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
if [ ! -d /usr/share/games/fortunes ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fortunes >/dev/null
fi
g="$root/gensharp"; base="$root/models/shakespeare-char"; steps=${STEPS:-300}
work=${WORK:-$(mktemp -d)}; mkdir -p "$work"
python3 - "$base/tokenizer.json" "$work" "$root/data/tinyshakespeare.txt" <<'PY'
import json, sys, glob, os
vocab = set(json.load(open(sys.argv[1]))["model"]["vocab"])
work, shakespeare = sys.argv[2], sys.argv[3]
files = sorted(f for f in glob.glob("/usr/share/games/fortunes/*") if os.path.isfile(f) and not f.endswith((".dat", ".u8")) and not os.path.islink(f))
text = "".join(open(f, encoding="utf-8", errors="ignore").read() for f in files)
text = "".join(c for c in text if c in vocab)
cut = int(len(text) * 0.9)
open(f"{work}/fortunes-train.txt", "w").write(text[:cut])
open(f"{work}/fortunes-heldout.txt", "w").write(text[cut:])
s = open(shakespeare).read()
open(f"{work}/shakespeare-val.txt", "w").write(s[int(len(s) * 0.9):])
print(f"fortunes: {len(files)} files, {len(text):,} characters in the model's vocabulary ({cut:,} train / {len(text) - cut:,} held out)")
PY
evals() {   # $1 = label, rest = extra flags for eval lm
  local label=$1; shift
  local f s
  f=$("$g" eval lm --model "$base" --data "$work/fortunes-heldout.txt" --json "$@" | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["loss"])')
  s=$("$g" eval lm --model "$base" --data "$work/shakespeare-val.txt" --json "$@" | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["loss"])')
  echo "$label: fortunes held-out loss $f, Shakespeare val loss $s"
}
evals "base model"
run() {   # $1 = label, $2 = out dir, rest = finetune flags
  local label=$1 out=$2; shift 2
  rm -rf "$out"
  /usr/bin/time -f "peak RSS %M KB" "$g" finetune --model "$base" --data "$work/fortunes-train.txt" --out "$out" --steps "$steps" \
    --batch-size 8 --eval-fraction 0.05 --eval-interval "$steps" --eval-iters 4 "$@" 2>&1 | grep -E "trainable|finished|peak RSS" | sed "s/^/  $label: /"
}
run "full" "$work/full" --method full
"$g" eval lm --model "$work/full" --data "$work/fortunes-heldout.txt" --json | python3 -c 'import json,sys; print("full: fortunes held-out loss %.4f" % json.load(sys.stdin)["loss"])'
"$g" eval lm --model "$work/full" --data "$work/shakespeare-val.txt" --json | python3 -c 'import json,sys; print("full: Shakespeare val loss %.4f" % json.load(sys.stdin)["loss"])'
for r in 4 8 16; do
  run "lora r=$r" "$work/lora$r" --method lora --lora-rank "$r" --lora-alpha $((2 * r))
  evals "lora r=$r" --adapter "$work/lora$r"
done
