#!/usr/bin/env bash
# Builds llama.cpp's own `llama-bench` from source for issue 15's side-by-side (gensharp-bench speed --llama-bench PATH):
# npm's node-llama-cpp ships llama.cpp's source as a git bundle (llama/gitRelease.bundle); it is cloned and built with
# this machine's compiler and native flags (AVX-512 where the CPU has it), CPU backend only. Nothing is committed.
# Usage: bench/reference/llama_bench.sh [WORKDIR]   (default /tmp/llama-bench; ~8 min on 2 cores) → prints the binary's path
set -euo pipefail
work=${1:-/tmp/llama-bench}
mkdir -p "$work" && cd "$work"
if [ ! -x llama.cpp/build/bin/llama-bench ]; then
  [ -f package/llama/gitRelease.bundle ] || { npm pack --silent node-llama-cpp@3.22.1 > /dev/null 2>&1 && tar xzf node-llama-cpp-3.22.1.tgz; }
  [ -d llama.cpp ] || git -c advice.detachedHead=false clone -q package/llama/gitRelease.bundle llama.cpp
  cmake -S llama.cpp -B llama.cpp/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF > cmake.log
  cmake --build llama.cpp/build --target llama-bench -j "$(nproc)" > build.log
fi
echo "$work/llama.cpp/build/bin/llama-bench"
