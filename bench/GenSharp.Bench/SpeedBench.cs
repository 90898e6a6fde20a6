using System.Diagnostics;
using System.Numerics.Tensors;
using GenSharp.Interop;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tests.Interop;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// Issue 15's side-by-side (docs/benchmarks.md, "Inference speed"): this machine's memory bandwidth (a STREAM-like read
/// and triad), then for models of ~2.7 M, ~34 M and ~100 M parameters the same weights in llama.cpp (GGUF f32 and q8_0,
/// LLamaSharp's prebuilt CPU backend, 2 threads) and in GenSharp (fp32): prompt processing of 64 tokens and batch-1
/// greedy decode of 128, with the weight bytes each decoded token streams as a fraction of the measured bandwidth.
/// </summary>
static class SpeedBench
{
    const int Prompt = 64, Decode = 128;

    public static int Run(string[] args)
    {
        var (readGbs, triadGbs) = Bandwidth();
        Console.WriteLine($"memory bandwidth (arrays of 256 MiB, 2 threads, best of 5): read {readGbs:F1} GB/s, triad {triadGbs:F1} GB/s");
        Console.WriteLine();
        Console.WriteLine($"| model | params | engine | pp{Prompt} tok/s | tg{Decode} tok/s (batch 1) | weight bytes/token | of read bandwidth |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var work = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"gensharp-speed-{Environment.ProcessId}")).FullName;
        try
        {
            Side("models/shakespeare-char", "bundled shakespeare-char", work, readGbs);
            foreach (var (layers, hidden, ffn, label) in new[] { (8, 512, 2048, "random 8 × 512"), (12, 768, 3072, "random 12 × 768") })
            {
                var dir = Path.Combine(work, $"r{layers}x{hidden}");
                var tok = CharTokenizer.Train(File.ReadAllText(Path.Combine(TrainBench.RepoRoot(), "data", "tinyshakespeare.txt")));
                manual_seed(1);
                using (var m = new LlamaForCausalLM(new LlamaConfig { VocabSize = tok.VocabSize, HiddenSize = hidden, IntermediateSize = ffn, NumLayers = layers,
                           NumHeads = hidden / 64, NumKvHeads = hidden / 64, MaxPositions = 512 }))
                {
                    m.InitializeWeights(1);
                    ModelDirectory.Save(dir, m, tok);
                }
                Side(dir, label, work, readGbs);
            }
            return 0;
        }
        finally { Directory.Delete(work, true); }
    }

    static void Side(string dir, string label, string work, double readGbs)
    {
        var (model, tokenizer) = ModelDirectory.Load(dir);
        using var _ = model;
        model.eval();
        long parameters = model.ParameterCount;
        var ids = Enumerable.Range(0, Prompt).Select(i => i * 7 % model.Config.VocabSize).ToArray();
        foreach (var type in new[] { "f32", "q8_0" })
        {
            var path = Path.Combine(work, $"{Path.GetFileName(dir)}-{type}.gguf");
            LlamaGguf.Export(dir, path, type);
            long bytes = new FileInfo(path).Length;
            using var cpp = new LlamaCpp(path, context: Prompt + Decode + 8);
            cpp.Run(ids, 4);                                                   // warm-up
            double pp = Best(() => cpp.Run(ids, 0));
            double tg = (Best(() => cpp.Run(ids, Decode)) - pp) / Decode;
            Row(label, parameters, $"llama.cpp {type}", Prompt / pp, 1 / tg, bytes, readGbs);
        }
        // GenSharp: the pipeline as a user runs it (KV cache, greedy); prefill = the first token's time.
        var pipeline = new TextGenerationPipeline(model, tokenizer);
        var text = System.Text.Encoding.UTF8.GetString(tokenizer.DecodeBytes(ids));
        var greedy = new GenerationOptions { Temperature = 0, IgnoreEos = true };
        pipeline.Generate(text, greedy with { MaxTokens = 4 });
        double first = Best(() => pipeline.Generate(text, greedy with { MaxTokens = 1 }));
        double all = Best(() => pipeline.Generate(text, greedy with { MaxTokens = Decode + 1 }));
        Row(label, parameters, "GenSharp fp32", Prompt / first, Decode / (all - first), parameters * 4, readGbs);
    }

    static void Row(string label, long parameters, string engine, double pp, double tg, long bytes, double readGbs) =>
        Console.WriteLine($"| {label} | {parameters / 1e6:F1} M | {engine} | {pp:F0} | {tg:F0} | {bytes / 1048576.0:F1} MiB | {bytes * tg / 1e9 / readGbs:P0} |");

    static double Best(Action run, int repeats = 3)
    {
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>Read (sum of an array) and triad (a = b + s·c) bandwidth over arrays far larger than the caches, 2 threads.</summary>
    static (double Read, double Triad) Bandwidth()
    {
        const int n = 64 << 20;                                               // 64 Mi floats = 256 MiB per array
        var a = new float[n];
        var b = new float[n];
        var c = new float[n];
        Array.Fill(b, 1f);
        Array.Fill(c, 2f);
        const int threads = 2;
        int part = n / threads;
        double read = 0, triad = 0;
        for (int r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            var sums = new float[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => sums[t] = TensorPrimitives.Sum(b.AsSpan(t * part, part)));
            read = Math.Max(read, n * 4.0 / sw.Elapsed.TotalSeconds / 1e9);
            sw.Restart();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
                t => TensorPrimitives.MultiplyAdd(c.AsSpan(t * part, part), 3f, b.AsSpan(t * part, part), a.AsSpan(t * part, part)));
            triad = Math.Max(triad, n * 12.0 / sw.Elapsed.TotalSeconds / 1e9);
        }
        return (read, triad);
    }
}
