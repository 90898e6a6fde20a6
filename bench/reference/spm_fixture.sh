#!/usr/bin/env bash
# Rebuilds tests/GenSharp.Tests/Tokenizers/Fixtures/spm: a SentencePiece BPE model trained by Google's own trainer
# (Debian's `sentencepiece`: apt-get install sentencepiece) with Llama 2's settings (byte fallback, split digits, identity
# normalization, dummy prefix, whitespace kept), its vocabulary, and the ids its own encoder gives for samples.txt —
# the independent reference SentencePieceBpeTokenizer is tested against.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tests/GenSharp.Tests/Tokenizers/Fixtures/spm
work=$(mktemp -d)
head -c 200000 data/tinyshakespeare.txt > "$work/train.txt"
spm_train --input="$work/train.txt" --model_prefix="$work/spm" --vocab_size=400 --model_type=bpe --byte_fallback=true \
  --character_coverage=0.999 --split_digits=true --allow_whitespace_only_pieces=true --remove_extra_whitespaces=false \
  --normalization_rule_name=identity --add_dummy_prefix=true --bos_id=1 --eos_id=2 --unk_id=0 --pad_id=-1 > "$work/train.log" 2>&1
cp "$work/spm.vocab" "$out/spm.vocab"
spm_encode --model="$work/spm.model" --output_format=id < "$out/samples.txt" > "$out/expected.ids"
rm -rf "$work"
echo "wrote $out"
