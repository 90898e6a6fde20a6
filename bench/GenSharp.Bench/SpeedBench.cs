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
/// and triad), then for models of ~2.7 M, ~34 M and ~113 M parameters the same weights in llama.cpp and in GenSharp:
/// prompt processing (pp64, and pp512 where the context allows) and batch-1 decode of 128 tokens (tg128), with the weight
/// bytes each decoded token streams as a fraction of the measured bandwidth. llama.cpp is `llama-bench` built from
/// source (<c>--llama-bench PATH</c>; bench/reference/llama_bench.sh builds it from node-llama-cpp's bundled source) on
/// GGUF f32 and q8_0 exports, or else LLamaSharp's prebuilt CPU backend. GenSharp: libtorch's decode, the CPU kernels in
/// fp32 and int8 (q8_0, the same blocks as the GGUF), and libtorch's batched prefill. 2 threads everywhere.
/// </summary>
static class SpeedBench
{
    const int Prompt = 64, Decode = 128;

    public static int Run(string[] args)
    {
        string? llamaBench = args.SkipWhile(a => a != "--llama-bench").Skip(1).FirstOrDefault();
        int rounds = int.Parse(args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() ?? "1");
        string[] only = args.SkipWhile(a => a != "--only").Skip(1).Take(1).ToArray();
        if (llamaBench is not null && !File.Exists(llamaBench)) throw new FileNotFoundException($"--llama-bench {llamaBench}: no such file");
        var (readGbs, triadGbs) = Bandwidth();
        Console.WriteLine($"memory bandwidth (256 MiB, 2 threads): read {readGbs:F1} GB/s (best stream pattern, huge pages), triad {triadGbs:F1} GB/s");
        Console.WriteLine($"llama.cpp: {(llamaBench is null ? "LLamaSharp's prebuilt CPU backend" : $"{llamaBench} (built from source)")}");
        Console.WriteLine();
        var work = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"gensharp-speed-{Environment.ProcessId}")).FullName;
        try
        {
            var models = new List<(string Dir, string Label)> { ("models/shakespeare-char", "bundled shakespeare-char") };
            foreach (var (layers, hidden, ffn, label) in new[] { (8, 512, 2048, "random 8 × 512"), (12, 768, 3072, "random 12 × 768") })
            {
                var dir = Path.Combine(work, $"r{layers}x{hidden}");
                var tok = CharTokenizer.Train(File.ReadAllText(Path.Combine(TrainBench.RepoRoot(), "data", "tinyshakespeare.txt")));
                manual_seed(1);
                using (var m = new LlamaForCausalLM(new LlamaConfig { VocabSize = tok.VocabSize, HiddenSize = hidden, IntermediateSize = ffn, NumLayers = layers,
                           NumHeads = hidden / 64, NumKvHeads = hidden / 64, MaxPositions = 1024 }))
                {
                    m.InitializeWeights(1);
                    ModelDirectory.Save(dir, m, tok);
                }
                models.Add((dir, label));
            }
            // Rounds go through every engine in turn; each row keeps its best round (the machines here are shared and noisy).
            for (int round = 1; round <= rounds; round++)
            {
                foreach (var (dir, label) in models.Where(m => only.Length == 0 || m.Label.Contains(only[0])))
                {
                    Console.Error.WriteLine($"round {round}/{rounds}: {label}");
                    Side(dir, label, work, readGbs, llamaBench);
                }
                // The probe again after each round: other tenants come and go, and the limit is the best the memory gave.
                double again = MemoryProbe.Read(print: false);
                Console.WriteLine($"read bandwidth after round {round}: {again:F1} GB/s");
                readGbs = Math.Max(readGbs, again);
            }
            Console.WriteLine($"read bandwidth used below (the best probe): {readGbs:F1} GB/s");
            Console.WriteLine();
            Console.WriteLine($"| model | params | engine | pp{Prompt} tok/s | pp512 tok/s | tg{Decode} tok/s (batch 1) | weight MiB/token | of read bandwidth |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");
            foreach (var ((label, engine), r) in Results)
                Console.WriteLine($"| {label} | {r.Parameters / 1e6:F1} M | {engine} | {r.Pp:F0} | {(r.Pp512 is { } v && !double.IsNaN(v) ? v.ToString("F0") : "—")} | {r.Tg:F0} | " +
                                  $"{r.Bytes / 1048576.0:F1} | {r.Bytes * r.Tg / 1e9 / readGbs:P0} |");
            return 0;
        }
        finally { Directory.Delete(work, true); }
    }

    sealed record Result(long Parameters, double Pp, double? Pp512, double Tg, long Bytes);
    static readonly Dictionary<(string Label, string Engine), Result> Results = [];

    static void Side(string dir, string label, string work, double readGbs, string? llamaBench)
    {
        var (model, tokenizer) = ModelDirectory.Load(dir);
        using var _ = model;
        model.eval();
        long parameters = model.ParameterCount;
        int context = model.Config.MaxPositions, decode = Math.Min(Decode, context - Prompt - 1);
        var ids = Enumerable.Range(0, Prompt).Select(i => i * 7 % model.Config.VocabSize).ToArray();
        foreach (var type in new[] { "f32", "q8_0" })
        {
            var path = Path.Combine(work, $"{Path.GetFileName(dir)}-{type}.gguf");
            if (!File.Exists(path)) LlamaGguf.Export(dir, path, type);
            long bytes = new FileInfo(path).Length;
            if (llamaBench is not null)
            {
                var (pp, pp512, tg) = LlamaBench(llamaBench, path, context >= 512 + Decode);
                Row(label, parameters, $"llama.cpp {type}", pp, pp512, tg, bytes, readGbs);
                continue;
            }
            using var cpp = new LlamaCpp(path, context: Prompt + Decode + 8);
            cpp.Run(ids, 4);                                                   // warm-up
            double ppSeconds = Best(() => cpp.Run(ids, 0));
            double tgSeconds = (Best(() => cpp.Run(ids, Decode)) - ppSeconds) / Decode;
            Row(label, parameters, $"llama.cpp {type} (prebuilt)", Prompt / ppSeconds, null, 1 / tgSeconds, bytes, readGbs);
        }
        // GenSharp: prefill and decode through the engine (greedy, KV cache), libtorch ops before, the kernels after.
        var libtorch = new DecodeKernelOptions { Enabled = false };
        double Pp(DecodeKernelOptions k, int n) => n < context ? PrefillTokensPerSecond(model, tokenizer, n, k) : double.NaN;
        long fp32Bytes = parameters * 4;
        Row(label, parameters, "GenSharp libtorch (before)", Pp(libtorch, Prompt), Pp(libtorch, 512), DecodeTokensPerSecond(model, tokenizer, ids, decode, libtorch), fp32Bytes, readGbs);
        Row(label, parameters, "GenSharp kernels fp32", Pp(DecodeKernelOptions.Default, Prompt), Pp(DecodeKernelOptions.Default, 512), DecodeTokensPerSecond(model, tokenizer, ids, decode, DecodeKernelOptions.Default), fp32Bytes, readGbs);
        var int8 = new DecodeKernelOptions { Int8 = true };
        long int8Bytes;
        using (var e = new GenerationEngine(model, tokenizer, 1, kernels: int8)) int8Bytes = e.Decoder!.WeightBytes + (long)model.Config.VocabSize * model.Config.HiddenSize * 4;
        double int8Prefill = Pp(int8, Prompt), int8Prefill512 = Pp(int8, 512);
        Row(label, parameters, "GenSharp kernels int8", int8Prefill, int8Prefill512, DecodeTokensPerSecond(model, tokenizer, ids, decode, int8), int8Bytes, readGbs);
    }

    /// <summary>llama-bench's pp64, pp512 (when asked) and tg128 tokens/s, 2 threads: the best of 5 repetitions each (as GenSharp's rows).</summary>
    static (double Pp, double? Pp512, double Tg) LlamaBench(string exe, string gguf, bool pp512)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-m", gguf, "-t", "2", "-p", pp512 ? $"{Prompt},512" : $"{Prompt}", "-n", $"{Decode}", "-r", "5", "-o", "json" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var json = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"llama-bench exited with {p.ExitCode}: {stderr.Result}");
        var runs = System.Text.Json.JsonDocument.Parse(json).RootElement.EnumerateArray()
            .Select(r => (Prompt: r.GetProperty("n_prompt").GetInt32(), Gen: r.GetProperty("n_gen").GetInt32(),
                Ts: r.GetProperty("samples_ts").EnumerateArray().Max(v => v.GetDouble()))).ToList();
        return (runs.Single(r => r.Prompt == Prompt && r.Gen == 0).Ts, pp512 ? runs.Single(r => r.Prompt == 512).Ts : null, runs.Single(r => r.Gen == Decode).Ts);
    }

    // The engine's prefill of one prompt (what a request's first token waits for): libtorch's padded forward, or with the
    // kernels on, the kernels up to GenerationEngine.KernelPrefillTokens tokens. Best of 5 after a warm-up.
    static double PrefillTokensPerSecond(LlamaForCausalLM model, ITokenizer tokenizer, int tokens, DecodeKernelOptions kernels)
    {
        var prompt = Enumerable.Range(0, tokens).Select(i => i * 7 % model.Config.VocabSize).ToArray();
        using var engine = new GenerationEngine(model, tokenizer, 1, kernels: kernels);
        double Once()
        {
            engine.Add(prompt, new GenerationOptions { Temperature = 0, MaxTokens = 1 });
            var sw = Stopwatch.StartNew();
            engine.Step();   // prefill + the first token; the request ends there
            return sw.Elapsed.TotalSeconds;
        }
        Once();
        return tokens / Enumerable.Range(0, 5).Min(_ => Once());
    }

    // Best of 3 generations of `decode` tokens after the prompt (the prefill and first token excluded).
    static double DecodeTokensPerSecond(LlamaForCausalLM model, ITokenizer tokenizer, int[] prompt, int decode, DecodeKernelOptions kernels)
    {
        double best = 0;
        for (int r = 0; r < 4; r++)
        {
            using var engine = new GenerationEngine(model, tokenizer, 1, kernels: kernels);
            engine.Add(prompt, new GenerationOptions { Temperature = 0, MaxTokens = decode + 1, IgnoreEos = true });
            engine.Step();
            var sw = Stopwatch.StartNew();
            int steps = 0;
            while (engine.HasWork) { engine.Step(); steps++; }
            if (r > 0) best = Math.Max(best, steps / sw.Elapsed.TotalSeconds);      // the first is a warm-up
        }
        return best;
    }

    static void Row(string label, long parameters, string engine, double pp, double? pp512, double tg, long bytes, double readGbs)
    {
        var r = new Result(parameters, pp, pp512, tg, bytes);
        if (Results.TryGetValue((label, engine), out var best))
            r = new Result(parameters, Math.Max(pp, best.Pp), pp512 is null ? best.Pp512 : Math.Max(pp512.Value, best.Pp512 ?? 0), Math.Max(tg, best.Tg), bytes);
        Results[(label, engine)] = r;
    }

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

    public static double ReadBandwidth() => Bandwidth().Read;

    /// <summary>Read (<see cref="MemoryProbe"/>) and triad (a = b + s·c) bandwidth over arrays far larger than the caches, 2 threads.</summary>
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
        double read = MemoryProbe.Read(print: false), triad = 0;
        for (int r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
                t => TensorPrimitives.MultiplyAdd(c.AsSpan(t * part, part), 3f, b.AsSpan(t * part, part), a.AsSpan(t * part, part)));
            triad = Math.Max(triad, n * 12.0 / sw.Elapsed.TotalSeconds / 1e9);
        }
        return (read, triad);
    }
}
