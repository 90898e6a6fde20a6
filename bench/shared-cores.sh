#!/usr/bin/env bash
# Training on cores another process is using: nano-cpu ms/step alone and as two simultaneous runs, for each way
# libtorch's OpenMP threads may wait. "GOMP_SPINCOUNT=300000" is libgomp's own default (what GenSharp did before it
# set 1000 itself); "--threads 1" gives each run one core. docs/benchmarks.md, "Shared cores".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps=${STEPS:-40}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
train() {   # $1 = output dir, then env assignments, then -- and extra flags
  local out=$1; shift; local envs=() extra=()
  while [ $# -gt 0 ]; do if [ "$1" = -- ]; then shift; extra=("$@"); break; fi; envs+=("$1"); shift; done
  env "${envs[@]}" "$root/gensharp" train lm --data "$root/data/tinyshakespeare.txt" --preset nano-cpu --steps "$steps" \
    --eval-interval 100000 --eval-iters 1 --out "$out" "${extra[@]}" 2>&1 | grep -oE '[0-9.]+ ms/step' | tail -1
}
case_() {   # $1 = label, rest = env/flags for train
  local label=$1; shift
  local alone; alone=$(train "$tmp/a" "$@"); rm -rf "$tmp"/*
  train "$tmp/b" "$@" > "$tmp/b.txt" & train "$tmp/c" "$@" > "$tmp/c.txt" & wait
  printf '%-28s alone %-14s two at once %s | %s\n' "$label" "$alone" "$(cat "$tmp/b.txt")" "$(cat "$tmp/c.txt")"
  rm -rf "$tmp"/*
}
"$root/scripts/setup.sh"
case_ "default (spin 1000)" NO_COLOR=1
case_ "GOMP_SPINCOUNT=300000" GOMP_SPINCOUNT=300000
case_ "--threads 1" NO_COLOR=1 -- --threads 1
