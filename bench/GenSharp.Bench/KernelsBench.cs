using GenSharp.Numerics;
using System.Diagnostics;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// Issue 15, before → after in one run: decode through the engine with libtorch ops (before), GenSharp's CPU kernels in
/// fp32 and in int8 (after), at batch 1 and 16, for models of ~2.7 M, ~34 M and ~113 M parameters; then where a batch-1
/// step's time goes in each (libtorch: the model's blocks timed one by one; kernels: the decoder's phases).
/// </summary>
static class KernelsBench
{
    // 64 prompt tokens and 128 new ones, less where the context is shorter (the bundled model's is 128); --long: prompts
    // of three quarters of the context, so attention reads 3–4× as many positions.
    static bool Long;
    static int Prompt(LlamaConfig c) => Long ? c.MaxPositions * 3 / 4 : Math.Min(64, c.MaxPositions / 4);
    static int Decode(LlamaConfig c) => Math.Min(128, c.MaxPositions - Prompt(c) - 1);

    public static int Run(string[] args)
    {
        if (args.Contains("--requests")) return Requests();
        if (args.Contains("--prefill"))
        {
            int at = Array.IndexOf(args, "--gemm-rows");   // a third arm: the kernels switching to the GEMM at N rows
            int? gemmRows = at >= 0 ? int.Parse(args[at + 1]) : null;
            return Prefill([.. args.Where((a, i) => a != "--prefill" && (at < 0 || (i != at && i != at + 1)))], gemmRows);
        }
        (string, DecodeKernelOptions) fp32Arm = ("fp32", DecodeKernelOptions.Default), int8Arm = ("int8", new DecodeKernelOptions { Int8 = true });
        if (args.Contains("--streams")) return Toggle([.. args.Where(a => a != "--streams")], "four streams", "in order", on => MatVec.Streams = on, fp32Arm, int8Arm);
        if (args.Contains("--tiles")) return Toggle([.. args.Where(a => a != "--tiles")], "AVX2 4 × 2 tiles", "one input at a time", on => MatVec.Tiles = on, 16, fp32Arm, int8Arm);
        Long = args.Contains("--long");
        args = [.. args.Where(a => a != "--long")];
        if (args.Contains("--attention")) return Toggle([.. args.Where(a => a != "--attention")], "keys as one product", "a dot a position", on => LlamaCpuDecoder.RowKernels = on, fp32Arm, int8Arm);
        if (args.Contains("--int16")) return Toggle([.. args.Where(a => a != "--int16")], "int16 inputs", "fp32 inputs", on => LlamaCpuDecoder.Int16Inputs = on, int8Arm);
        if (args.Contains("--stacked")) return Stacked(args.Where(a => a != "--stacked").ToArray());
        if (args.Contains("--first-token")) return FirstToken(args.Contains("--threads") ? int.Parse(args[Array.IndexOf(args, "--threads") + 1]) : null);
        double readGbs = SpeedBench.ReadBandwidth();
        Console.WriteLine($"threads {get_num_threads()}; memory read bandwidth {readGbs:F1} GB/s (2 threads, 256 MiB, best stream pattern)");
        Console.WriteLine();
        Console.WriteLine("| model | params | decode | batch 1 tok/s | batch 16 tok/s (aggregate) | weight MiB read/token | of read bandwidth (batch 1) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var profiles = new List<string>();
        foreach (var (label, model, tokenizer) in Models())
        {
            if (args.Length > 0 && !args.Any(a => label.Contains(a))) { model.Dispose(); continue; }
            using var _ = model;
            long fp32Bytes = model.ParameterCount * 4 - (model.Config.TieWordEmbeddings ? 0 : (long)model.Config.VocabSize * model.Config.HiddenSize * 4);
            // Before int8: it rewrites the weights. libtorch and fp32 rounds alternate so drift falls on both.
            var libtorch = new DecodeKernelOptions { Enabled = false };
            var fp32 = DecodeKernelOptions.Default;
            var (t1, k1) = (new List<double>(), new List<double>());
            for (int r = 0; r < 3; r++)
            {
                t1.Add(TokensPerSecond(model, tokenizer, libtorch, 1));
                k1.Add(TokensPerSecond(model, tokenizer, fp32, 1));
            }
            double t16 = TokensPerSecond(model, tokenizer, libtorch, 16), k16 = TokensPerSecond(model, tokenizer, fp32, 16);
            long kernelBytes;
            using (var e = new GenerationEngine(model, tokenizer, 1, kernels: fp32)) kernelBytes = e.Decoder!.WeightBytes;
            Row(label, model, "libtorch (before)", t1.Max(), t16, fp32Bytes, readGbs);
            Row(label, model, "kernels fp32", k1.Max(), k16, kernelBytes, readGbs);
            profiles.Add(LibtorchProfile(label, model));
            profiles.Add(KernelProfile(label, model, tokenizer, fp32, "fp32"));
            var int8 = new DecodeKernelOptions { Int8 = true };
            long int8Bytes;
            using (var e = new GenerationEngine(model, tokenizer, 1, kernels: int8)) int8Bytes = e.Decoder!.WeightBytes;
            double q1 = Enumerable.Range(0, 3).Max(_ => TokensPerSecond(model, tokenizer, int8, 1)), q16 = TokensPerSecond(model, tokenizer, int8, 16);
            Row(label, model, "kernels int8", q1, q16, int8Bytes, readGbs);
            profiles.Add(KernelProfile(label, model, tokenizer, int8, "int8"));
        }
        Console.WriteLine();
        Console.WriteLine("Where a batch-1 decode step's time goes (µs per token; libtorch: blocks timed one by one in a cached step):");
        Console.WriteLine();
        foreach (var p in profiles) Console.WriteLine(p);
        return 0;
    }

    // Batch-1 fp32 decode with each layer's q, k and v weights end to end in one buffer (as the model allocates them) or
    // each in its own, alternating, 6 rounds each; tokens/s, best and median, and the q/k/v phase's µs per token.
    static int Stacked(string[] only)
    {
        Console.WriteLine("| model | q/k/v end to end: tok/s best / median, q/k/v µs | apart: tok/s best / median, q/k/v µs | best ratio |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (label, model, tokenizer) in Models())
        {
            if (only.Length > 0 && !only.Any(a => label.Contains(a))) { model.Dispose(); continue; }
            using var _ = model;
            var (together, apart) = (new List<(double, double)>(), new List<(double, double)>());
            for (int r = 0; r < 12; r++)
            {
                Arrange(model, r % 2 == 0);
                (r % 2 == 0 ? together : apart).Add(TokensAndQkv(model, tokenizer));
            }
            Arrange(model, true);
            string Cell(List<(double Tps, double Us)> v) => $"{v.Max(x => x.Tps):F0} / {v.Select(x => x.Tps).Order().ElementAt(v.Count / 2):F0}, {v.Select(x => x.Us).Order().ElementAt(v.Count / 2):F0}";
            Console.WriteLine($"| {label} | {Cell(together)} | {Cell(apart)} | {together.Max(x => x.Item1) / apart.Max(x => x.Item1):F2} |");
        }
        return 0;

        static void Arrange(LlamaForCausalLM model, bool together)
        {
            using var _ = no_grad();
            foreach (var layer in model.Backbone.Layers)
            {
                var qkv = layer.Attention.Projections.Take(3).Select(p => p.Projection).ToArray();
                if (together) ProjectionStack.Colocate(qkv);
                else foreach (var p in qkv) { using var own = p.weight!.clone(); p.weight!.set_(own); }
            }
        }

        static (double, double) TokensAndQkv(LlamaForCausalLM model, ITokenizer tokenizer)
        {
            var prompt = Enumerable.Range(0, Prompt(model.Config)).Select(i => i * 7 % model.Config.VocabSize).ToArray();
            using var engine = new GenerationEngine(model, tokenizer, 1, kernels: DecodeKernelOptions.Default);
            engine.Add(prompt, new GenerationOptions { Temperature = 0.8, Seed = 1, MaxTokens = Decode(model.Config), IgnoreEos = true });
            engine.Step();
            double qkv0 = engine.Decoder!.Profile[LlamaCpuDecoder.Phase.Qkv];
            var sw = Stopwatch.StartNew();
            int steps = 0;
            while (engine.HasWork) { engine.Step(); steps++; }
            return (steps / sw.Elapsed.TotalSeconds, (engine.Decoder!.Profile[LlamaCpuDecoder.Phase.Qkv] - qkv0) * 1e6 / steps);
        }
    }

    // Batch-1 decode with a switch on and off, alternating, 6 rounds each; tokens/s, best and median. --streams: the
    // one-row products read their part as four streams or in order (MatVec.Streams), fp32 then int8; --int16: int8 with
    // the inputs rounded to int16 or kept fp32 (LlamaCpuDecoder.Int16Inputs).
    static int Toggle(string[] only, string on, string off, Action<bool> set, params (string Name, DecodeKernelOptions Kernels)[] arms) =>
        Toggle(only, on, off, set, 1, arms);

    static int Toggle(string[] only, string on, string off, Action<bool> set, int batch, params (string Name, DecodeKernelOptions Kernels)[] arms)
    {
        Console.WriteLine($"path {SimdPaths.Describe(SimdPaths.Detect())}; batch {batch} (aggregate tok/s)");
        Console.WriteLine($"| model | {on} tok/s, best / median | {off} tok/s, best / median | best ratio |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (label, model, tokenizer) in Models())
        {
            if (only.Length > 0 && !only.Any(a => label.Contains(a))) { model.Dispose(); continue; }
            using var _ = model;
            foreach (var (name, kernels) in arms)   // fp32 first: int8 rewrites the model's weights
            {
                var (ons, offs) = (new List<double>(), new List<double>());
                for (int r = 0; r < 12; r++)
                {
                    set(r % 2 == 0);
                    (r % 2 == 0 ? ons : offs).Add(TokensPerSecond(model, tokenizer, kernels, batch));
                }
                set(true);
                double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
                Console.WriteLine($"| {label}, {name} | {ons.Max():F0} / {Median(ons):F0} | {offs.Max():F0} / {Median(offs):F0} | {ons.Max() / offs.Max():F2} |");
            }
        }
        return 0;
    }

    // The bundled model's first token of "ROMEO:" (Add + the prefill step) against a decode step, on one engine kept across
    // requests as the server keeps its own; each request's first token after a pause (as between a client's requests) and
    // right after the previous request.
    static int FirstToken(int? threads)
    {
        var (model, tok) = ModelDirectory.Load(Path.Combine(TrainBench.RepoRoot(), "models", "shakespeare-char"));
        using var engine = new GenerationEngine(model, tok, 16, kernels: new DecodeKernelOptions { Threads = threads });
        var prompt = engine.EncodePrompt("ROMEO:");
        var (first, afterPause, steps) = (new List<double>(), new List<double>(), new List<double>());
        for (int i = 0; i < 41; i++)
        {
            if (i % 2 == 1) Thread.Sleep(30);
            var sw = Stopwatch.StartNew();
            engine.Add(prompt, new GenerationOptions { MaxTokens = 16, Temperature = 1, Seed = i, IgnoreEos = true });
            engine.Step();
            if (i > 0) (i % 2 == 1 ? afterPause : first).Add(sw.Elapsed.TotalMilliseconds);
            while (engine.HasWork)
            {
                sw.Restart();
                engine.Step();
                steps.Add(sw.Elapsed.TotalMilliseconds);
            }
        }
        double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        Console.WriteLine($"first token (6-token prompt): {Median(first):F3} ms right after a request, {Median(afterPause):F3} ms after 30 ms idle; decode step {Median(steps):F3} ms (medians of 20, 20, {steps.Count})");
        return 0;
    }

    // Whole requests as the server's library side runs them: a new engine per call, 64 tokens from "ROMEO:".
    static int Requests()
    {
        var (model, tok) = ModelDirectory.Load(Path.Combine(TrainBench.RepoRoot(), "models", "shakespeare-char"));
        foreach (var kernels in new[] { new DecodeKernelOptions { Enabled = false }, DecodeKernelOptions.Default, new DecodeKernelOptions { Enabled = false }, DecodeKernelOptions.Default })
        {
            var pipeline = new TextGenerationPipeline(model, tok, kernels: kernels);
            var times = new List<double>();
            for (int i = 0; i < 8; i++)
            {
                var sw = Stopwatch.StartNew();
                pipeline.GenerateBatch(["ROMEO:"], new GenerationOptions { MaxTokens = 64, Temperature = 1, Seed = i, IgnoreEos = true });
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            Console.WriteLine($"{(kernels.Enabled ? "kernels " : "libtorch")}: {string.Join(" ", times.Select(t => t.ToString("F1")))} ms per request");
        }
        return 0;
    }

    // Prefill of short prompts, libtorch (a padded forward pass) vs the kernels (prompts as rows), alternating; ms to the
    // first token (the engine's step: prefill + sampling), best of 7; where the engine should switch (KernelPrefillTokens).
    static int Prefill(string[] only, int? gemmRows)
    {
        int arms = gemmRows is null ? 2 : 3;
        int? savedRows = LlamaCpuDecoder.GemmRows;
        Console.WriteLine($"threads {get_num_threads()}; engine switches at {GenerationEngine.KernelPrefillTokens} prompt tokens a pass");
        Console.WriteLine();
        Console.WriteLine($"| model | prompts × tokens | libtorch ms | kernels ms | kernels / libtorch | {(gemmRows is null ? "" : $"kernels, GEMM from {gemmRows} rows, ms | ")}kernels' phases, mean ms |");
        Console.WriteLine($"|---|---|---|---|---|{(gemmRows is null ? "" : "---|")}---|");
        int saved = GenerationEngine.KernelPrefillTokens;
        foreach (var (label, model, tokenizer) in Models())
        {
            if (only.Length > 0 && !only.Any(a => label.Contains(a))) { model.Dispose(); continue; }
            using var _ = model;
            using var engine = new GenerationEngine(model, tokenizer, 16);
            foreach (var (prompts, tokens) in new[] { (1, 4), (1, 16), (1, 64), (1, 128), (1, 256), (1, 480), (4, 8), (16, 4), (4, 32), (4, 120) }.Where(p => p.Item2 < model.Config.MaxPositions))
            {
                var ms = new[] { new List<double>(), new List<double>(), new List<double>() };
                var before = engine.Decoder!.Profile;
                for (int r = 0; r < 7 * arms; r++)
                {
                    GenerationEngine.KernelPrefillTokens = r % arms == 0 ? 0 : int.MaxValue;
                    LlamaCpuDecoder.GemmRows = r % arms == 2 ? gemmRows : savedRows;
                    for (int p = 0; p < prompts; p++)
                        engine.Add([.. Enumerable.Range(0, tokens).Select(i => (i * 7 + p) % model.Config.VocabSize)], new GenerationOptions { MaxTokens = 1, Seed = r });
                    var sw = Stopwatch.StartNew();
                    engine.Step();
                    ms[r % arms].Add(sw.Elapsed.TotalMilliseconds);
                    if (engine.HasWork) throw new InvalidOperationException("a one-token request did not finish at its prefill");
                }
                double t = ms[0].Min(), k = ms[1].Min();
                var after = engine.Decoder!.Profile;   // the kernels' phases, mean ms of a pass
                var phases = string.Join(", ", after.Where(p => p.Value - before[p.Key] > 0).OrderByDescending(p => p.Value - before[p.Key])
                    .Select(p => $"{p.Key} {(p.Value - before[p.Key]) * 1000 / (7 * (arms - 1)):F1}"));
                Console.WriteLine($"| {label} | {prompts} × {tokens} | {t:F2} | {k:F2} | {k / t:F2} | {(gemmRows is null ? "" : $"{ms[2].Min():F2} | ")}{phases} |");
            }
        }
        GenerationEngine.KernelPrefillTokens = saved;
        LlamaCpuDecoder.GemmRows = savedRows;
        return 0;
    }

    static IEnumerable<(string, LlamaForCausalLM, ITokenizer)> Models()
    {
        var (bundled, tok) = ModelDirectory.Load(Path.Combine(TrainBench.RepoRoot(), "models", "shakespeare-char"));
        yield return ("bundled shakespeare-char", bundled, tok);
        foreach (var (layers, hidden, ffn) in new[] { (8, 512, 2048), (12, 768, 3072) })
        {
            manual_seed(1);
            var m = new LlamaForCausalLM(new LlamaConfig { VocabSize = tok.VocabSize, HiddenSize = hidden, IntermediateSize = ffn, NumLayers = layers,
                NumHeads = hidden / 64, NumKvHeads = hidden / 64, MaxPositions = 512 });
            m.InitializeWeights(1);
            yield return ($"random {layers} × {hidden}", m, tok);
        }
    }

    static void Row(string label, LlamaForCausalLM model, string decode, double b1, double b16, long bytes, double readGbs) =>
        Console.WriteLine($"| {label} | {model.ParameterCount / 1e6:F1} M | {decode} | {b1:F0} | {b16:F0} | {bytes / 1048576.0:F1} | {bytes * b1 / 1e9 / readGbs:P0} |");

    /// <summary>Decode tokens/s after the prefill: <paramref name="batch"/> samples of one 64-token prompt, 128 tokens each.</summary>
    static double TokensPerSecond(LlamaForCausalLM model, ITokenizer tokenizer, DecodeKernelOptions kernels, int batch)
    {
        var prompt = Enumerable.Range(0, Prompt(model.Config)).Select(i => i * 7 % model.Config.VocabSize).ToArray();
        using var engine = new GenerationEngine(model, tokenizer, batch, kernels: kernels);
        engine.Add(prompt, new GenerationOptions { Temperature = 0.8, Seed = 1, MaxTokens = Decode(model.Config), IgnoreEos = true, N = batch });
        engine.Step();                                                             // prefill and the first token
        var sw = Stopwatch.StartNew();
        int steps = 0;
        while (engine.HasWork) { engine.Step(); steps++; }
        return steps * batch / sw.Elapsed.TotalSeconds;
    }

    static string KernelProfile(string label, LlamaForCausalLM model, ITokenizer tokenizer, DecodeKernelOptions kernels, string name)
    {
        var prompt = Enumerable.Range(0, Prompt(model.Config)).Select(i => i * 7 % model.Config.VocabSize).ToArray();
        using var engine = new GenerationEngine(model, tokenizer, 1, kernels: kernels);
        engine.Add(prompt, new GenerationOptions { Temperature = 0.8, Seed = 1, MaxTokens = Decode(model.Config), IgnoreEos = true });
        engine.Step();
        var prefill = engine.Decoder!.Profile;   // the prompt's pass ran on the kernels too: not a decode step's
        var sw = Stopwatch.StartNew();
        int steps = 0;
        while (engine.HasWork) { engine.Step(); steps++; }
        double total = sw.Elapsed.TotalSeconds * 1e6 / steps;
        var parts = engine.Decoder!.Profile.ToDictionary(p => p.Key, p => (p.Value - prefill[p.Key]) * 1e6 / steps);
        double inDecoder = parts.Values.Sum();
        string Us(double us) => $"{us:F0} ({us / total:P0})";
        return $"- {label}, kernels {name}: step {total:F0} µs = q/k/v {Us(parts[LlamaCpuDecoder.Phase.Qkv])}, attention {Us(parts[LlamaCpuDecoder.Phase.Attention])}, " +
               $"o {Us(parts[LlamaCpuDecoder.Phase.O])}, gate/up + SwiGLU {Us(parts[LlamaCpuDecoder.Phase.GateUp])}, down {Us(parts[LlamaCpuDecoder.Phase.Down])}, " +
               $"head {Us(parts[LlamaCpuDecoder.Phase.Head])}, RoPE + cache writes {Us(parts[LlamaCpuDecoder.Phase.RopeAndCache])}, " +
               $"norms + residuals {Us(parts[LlamaCpuDecoder.Phase.Norms])}, other {Us(parts[LlamaCpuDecoder.Phase.Other])}; " +
               $"engine outside the decoder (sampling, text) {Us(total - inDecoder)}";
    }

    // libtorch's cached step, block by block: norm + attention (projections, RoPE, cache, SDPA), norm + MLP, final norm + head.
    static string LibtorchProfile(string label, LlamaForCausalLM model)
    {
        var c = model.Config;
        using var cache = new KvCache(c, 1);
        using var _ = no_grad();
        var prompt = tensor(Enumerable.Range(0, Prompt(c)).Select(i => (long)(i * 7 % c.VocabSize)).ToArray()).unsqueeze(0);
        using (NewDisposeScope()) model.forward(prompt, cache.Begin([0], Prompt(c)));
        double attention = 0, mlp = 0, head = 0, other = 0;
        var sw = new Stopwatch();
        var backbone = model.Backbone;
        int decode = Decode(c);
        for (int step = 0; step < decode; step++)
        {
            using var scope = NewDisposeScope();
            sw.Restart();
            var s = cache.Begin([0], 1);
            var (cos, sin) = Rope.Tables(s.Positions, c.HeadDim, c.RopeTheta, c.RopeScaling);
            (cos, sin) = (cos.unsqueeze(2), Rope.SignedSin(sin).unsqueeze(2));
            var x = backbone.EmbeddingWeight.index_select(0, tensor(new long[] { step % c.VocabSize })).view(1, 1, -1);
            other += sw.Elapsed.TotalSeconds;
            foreach (var layer in backbone.Layers)
            {
                sw.Restart();
                x = x + layer.Attention.Forward(layer.InputNorm.forward(x), cos, sin, s);
                attention += sw.Elapsed.TotalSeconds;
                sw.Restart();
                x = x + layer.Mlp.Forward(layer.PostAttentionNorm.forward(x), null);
                mlp += sw.Elapsed.TotalSeconds;
            }
            sw.Restart();
            Inference.Linear(backbone.Norm.forward(x), model.HeadWeight).data<float>().ToArray();
            head += sw.Elapsed.TotalSeconds;
        }
        double Us(double s) => s * 1e6 / decode;
        double total = Us(attention + mlp + head + other);
        return $"- {label}, libtorch: forward {total:F0} µs = norm + attention block {Us(attention):F0} ({attention * 1e6 / decode / total:P0}), " +
               $"norm + MLP block {Us(mlp):F0} ({mlp * 1e6 / decode / total:P0}), final norm + head {Us(head):F0} ({head * 1e6 / decode / total:P0}), " +
               $"positions + embedding {Us(other):F0} ({other * 1e6 / decode / total:P0})";
    }
}
