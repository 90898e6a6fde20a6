#!/usr/bin/env bash
# Side-by-side benchmarks for docs/benchmarks.md. Run on an otherwise idle machine; takes ~1 h.
# Results (with the commands that made them) go to bench/results/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
bench="$root/bench/GenSharp.Bench/bin/Release/net10.0/gensharp-bench"
out="$root/bench/results"; mkdir -p "$out"
# The nanoGPT reference needs Debian's PyTorch and a threaded OpenBLAS.
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null
fi
run() { local name=$1; shift; echo "\$ $*" | tee "$out/$name.txt"; "$@" 2>&1 | tee -a "$out/$name.txt"; }

run gemm "$bench" gemm
run gensharp-nano-cpu-speed "$bench" train --preset nano-cpu --steps 300
run nanogpt-nano-cpu-speed /usr/bin/python3 "$root/bench/reference/nanogpt_cpu.py" --iters 100 --eval 0
run gemm-shapes "$bench" gemm-shapes nano-cpu
run gensharp-384 "$bench" train --preset nano-cpu --layers 6 --dim 384 --heads 6 --context 256 --batch-size 12 --steps 40
rm -rf /tmp/gensharp-bench-nano
run gensharp-nano-cpu-full "$root/gensharp" train lm --data "$root/data/tinyshakespeare.txt" --preset nano-cpu --out /tmp/gensharp-bench-nano
run nanogpt-nano-cpu-full /usr/bin/python3 "$root/bench/reference/nanogpt_cpu.py" --iters 2000
run decode-bundled "$bench" decode
run decode-25m "$bench" decode --size-25m
# Image models (docs/benchmarks.md, "Image generation"): FID-FMNIST etc. against the 10,000 test images.
g="$root/gensharp"
run image-real "$g" eval image --real --n 500
for s in 10 25 50; do run "image-ddim$s" "$g" eval image --model "$root/models/fmnist-diffusion" --n 500 --steps "$s"; done
run image-ddim25-n200 "$g" eval image --model "$root/models/fmnist-diffusion" --n 200 --steps 25
run image-ddpm1000-n200 "$g" eval image --model "$root/models/fmnist-diffusion" --n 200 --sampler ddpm
run serve "$bench" serve
run shared-cores "$root/bench/shared-cores.sh"
run finetune "$root/bench/finetune.sh"
run arithmetic "$bench" arithmetic
run multi-lora "$bench" multi-lora
run multi-lora-25m "$bench" multi-lora --size-25m
