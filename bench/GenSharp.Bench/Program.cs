using GenSharp.Bench;

// gensharp-bench: speed measurements that live outside the unit tests (see docs/benchmarks.md).
// As the CLI does: libtorch's OpenMP threads spin briefly, else after each libtorch op they keep the cores that GenSharp's
// decode team (or a second process) needs, and a bench that alternates the two measures that contention.
GenSharp.Numerics.CpuThreads.YieldWhenShared();
return args.FirstOrDefault() switch
{
    "gemm" => GemmBench.Run(args[1..]),
    "train" => TrainBench.Run(args[1..]),
    "gemm-shapes" => GemmShapesBench.Run(args[1..]),
    "prefill-gemm" => PrefillGemmBench.Run(args[1..]),
    "decode" => DecodeBench.Run(args[1..]),
    "logits" => LogitsDump.Run(args[1..]),
    "serve" => ServeBench.Run(args[1..]).GetAwaiter().GetResult(),
    "arithmetic" => ArithmeticBench.Run(args[1..]),
    "multi-lora" => MultiLoraBench.Run(args[1..]),
    "reward" => RewardBench.Run(args[1..]),
    "dpo" => DpoBench.Run(args[1..]),
    "best-of" => BestOfBench.Run(args[1..]),
    "curves" => CurvesBench.Run(args[1..]),
    "rag-man" => RagManBench.Run(args[1..]),
    "rag-fusion" => RagFusionBench.Run(args[1..]),
    "rag-scale" => RagScaleBench.Run(args[1..]),
    "gguf" => GgufBench.Run(args[1..]),
    "onnx" => OnnxBench.Run(args[1..]),
    "speed" => SpeedBench.Run(args[1..]),
    "matvec" => MatVecBench.Run(args[1..]),
    "kernels" => KernelsBench.Run(args[1..]),
    "conv" => ConvBench.Run(args[1..]),
    "hf-fixture" => HfFixtureCommand(args[1..]),
    _ => Usage(),
};

// A hub-layout checkpoint with random weights (tests/…/HfFixtures.cs), for bench/reference/hf_llama_check.py.
static int HfFixtureCommand(string[] args)
{
    string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
    GenSharp.Tests.Models.HfFixtures.Write(Arg("--out", "runs/hf-fixture"), Arg("--family", "llama"), Arg("--dtype", "bf16"), int.Parse(Arg("--shards", "1")),
        Arg("--tied", "false") == "true", ropeScaling: GenSharp.Tests.Models.HfFixtures.Scaling(Arg("--rope-scaling", ""))).Dispose();
    Console.WriteLine($"wrote {Arg("--out", "runs/hf-fixture")}");
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: gensharp-bench gemm                       fp32 GEMM throughput of this machine (peak = best size)
               gensharp-bench hf-fixture --family llama|mistral|qwen2 --dtype bf16|f16|f32 [--shards N] [--tied true] [--rope-scaling llama3|linear] --out DIR
                                                         a hub-layout checkpoint with random weights (for bench/reference)
               gensharp-bench gguf [--model DIR]         the model as GGUF f32/f16/q8_0 in llama.cpp: tokens, |Δ logit|, greedy agreement
               gensharp-bench speed                      memory bandwidth; llama.cpp (GGUF f32, q8_0) vs GenSharp: pp64 and batch-1
                                                         decode of the same weights at ~2.7 M, ~34 M, ~100 M parameters
               gensharp-bench matvec                     the decode products alone: libtorch vs GenSharp's MatVec kernel, µs and GB/s
               gensharp-bench onnx                       bundled models and hub fixtures as ONNX in ONNX Runtime: |Δ logit| at every cached
                                                         step, greedy agreement, decode tokens/s of both; the U-Net's |Δ| and batch time
               gensharp-bench train [--preset nano-cpu] [--steps 200] [--threads N]
                                    [--layers L --dim D --heads H --context T --batch-size B --ffn-dim F]
                                                         training-step time, tokens/s and MFU (6·N·tokens/s ÷ GEMM peak)
               gensharp-bench gemm-shapes [PRESET]          the step's GEMMs alone: a floor on step time, a ceiling on MFU
               gensharp-bench prefill-gemm [--threads N] [--cold | --shared]  prompt-sized products: libtorch vs the tile kernel vs the packed GEMM;
                                                         --shared: q/k/v and gate/up as separate calls vs one call (X packed once)
               gensharp-bench decode [--model DIR | --size-25m]  generation: time to first token, tokens/s at batch 1 and 16,
                                                         KV cache speed-up, engine overhead over a bare forward pass
               gensharp-bench kernels [LABEL] [--requests | --prefill [--gemm-rows N] | --streams | --int16 | --tiles | --attention [--long] | --stacked | --first-token]  decode on libtorch vs the CPU kernels (fp32, int8) at batch
                                                         1 and 16, profiles; --prefill: short prompts, libtorch vs kernels;
                                                         --first-token: a short prompt's first token vs a decode step
               gensharp-bench serve [--tokens 64] [--rounds 15] [--client curl|keepalive|http] [--decode kernels|libtorch] [--stream-interval MS]
                                                         HTTP server: tokens/s at 1/4/16 concurrent streams (curl processes
                                                         as clients; keepalive: one Python client keeping its connections),
                                                         time to first token p50/p95, overhead (whole request, per token) vs the library
               gensharp-bench conv [--rounds 3] [--steps 10]    the U-Net's training and sampling step with libtorch's oneDNN on vs off
                                                         (the cost of ConvolutionCheck turning it off), probe errors
               gensharp-bench logits MODEL_DIR OUT.safetensors   our logits for a fixed text, for bench/reference/hf_llama_check.py
               gensharp-bench arithmetic [--steps 2000] [--batch-size 16] [--train 20000] [--test 200] [--methods full,lora]
                                    [--eval-interval N] [--out DIR]  SFT with vocabulary extension: exact-match accuracy on
                                                         held-out additions, base vs full vs LoRA; --out keeps the runs
                                                         (resumed when run again) and writes DIR/arithmetic.json
               gensharp-bench multi-lora [--size-25m]     16 streams over 4 served LoRA adapters vs 16 on a merged model
               gensharp-bench reward [--steps 300] [--train 2000] [--test 400] [--batch-size 16] [--out DIR]
                                                         a reward model on a planted preference: held-out pair accuracy
               gensharp-bench best-of --model DIR --heldout FILE [--reward DIR] [--temperature 1] [--timed 50] [--out DIR]
                                                         best-of-n for n = 1…16 on held-out questions: accuracy by ranking,
                                                         the oracle, greedy, ms per best_of request; best-of-n.png
               gensharp-bench rag-man [--out DIR] [--embedder DIR] [--reuse]
                                                         retrieval on Debian's man pages (man1, man8), with and without gcloud's:
                                                         ingest pages/s and chunks/s, recall@1/10, MRR, nDCG@10, latency for
                                                         BM25 (and dense, hybrid, IVF vs exact with --embedder)
               gensharp-bench rag-fusion --index DIR --embedder DIR --queries FILE
                                                         hybrid recall for RRF constants and depths, on two halves of the queries
               gensharp-bench rag-scale --embedder DIR --source INDEX_DIR --queries FILE [--sizes 10000,100000] [--store URL]
                                                         SQLite and PostgreSQL at 10k and 100k chunks: ingest, embed, latency
                                                         p50/p95 of BM25, exact, approximate and hybrid search
               gensharp-bench curves RUN_DIR --metrics A,B --out FILE.png [--title T]   metrics of a run against the step
               gensharp-bench dpo [--methods lora,full] [--steps 200] [--points 4] [--samples 128] [--out DIR]
                                                         DPO on the planted preference: share, win rate vs the reference,
                                                         per-token KL; docs/images/dpo-reward-vs-kl.png
        """);
    return 2;
}
