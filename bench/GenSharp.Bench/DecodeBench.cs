using GenSharp.Pipelines;
using System.Diagnostics;
using GenSharp.Models;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// Generation speed of the engine: time to first token, decode tokens/s at batch 1 and aggregate at batch 16,
/// the KV cache's speed-up over re-running the whole sequence per token, and the engine's per-token overhead
/// over a bare cached forward pass. All measured in one process, one after the other.
/// </summary>
static class DecodeBench
{
    public static int Run(string[] args)
    {
        var (model, tok, name) = args.Length > 0 && args[0] == "--size-25m" ? Model25M() : Bundled(args);
        using var _ = model;
        var c = model.Config;
        int prompt = Math.Min(64, c.MaxPositions / 4), tokens = Math.Min(128, c.MaxPositions - prompt - 1);
        var promptIds = Enumerable.Range(0, prompt).Select(i => i * 7 % c.VocabSize).ToArray();
        Console.WriteLine($"{name}: {model.ParameterCount:N0} params, {c.NumLayers} layers × {c.HiddenSize}, context {c.MaxPositions}; prompt {prompt} tokens, {tokens} new tokens; threads {get_num_threads()}");

        var options = new GenerationOptions { Temperature = 0.8, Seed = 1, MaxTokens = tokens, IgnoreEos = true };
        Decode(model, tok, promptIds, options with { MaxTokens = 8 }, 1);   // warm-up: allocations, kernels, JIT

        var ttft = Enumerable.Range(0, 7).Select(_ => Decode(model, tok, promptIds, options with { MaxTokens = 1 }, 1).Ttft).Order().ElementAt(3);
        var pairs = Enumerable.Range(0, 3).SelectMany(_ => Interleaved(model, tok, promptIds, options)).ToList();
        double engineMs = Median(pairs.Select(p => p.Engine).ToList()), bareMs = Median(pairs.Select(p => p.Bare).ToList());
        var (stepMs, modelMs) = Overhead(model, tok, promptIds, options);
        var noCacheMs = NoCache(model, promptIds, tokens);
        var b16 = Enumerable.Range(0, 3).Select(_ => Decode(model, tok, promptIds, options, 16).PerSequence).Order().ElementAt(1);

        Console.WriteLine($"time to first token (prefill {prompt} + sample), median of 7: {ttft:F1} ms");
        Console.WriteLine($"decode, batch 1: {1000 / engineMs:F0} tokens/s ({engineMs:F2} ms/token, median step)");
        Console.WriteLine($"decode, batch 16: {b16 * 16:F0} tokens/s aggregate ({b16:F0} per sequence; {16 * b16 / (1000 / engineMs):F1}× batch 1)");
        Console.WriteLine($"bare cached forward pass, batch 1: {bareMs:F2} ms/token, median of {pairs.Count} steps paired with engine steps");
        Console.WriteLine($"engine overhead per token (step time outside the model's forward pass, 3 × {tokens} tokens): {stepMs - modelMs:F3} ms = {(stepMs - modelMs) / modelMs:P1} of the forward pass");
        Console.WriteLine($"no KV cache (full forward per token, same lengths): {noCacheMs:F2} ms/token → KV cache speed-up {noCacheMs / engineMs:F1}×");
        return 0;
    }

    static (LlamaForCausalLM, ITokenizer, string) Bundled(string[] args)
    {
        var dir = args.Length > 1 && args[0] == "--model" ? args[1] : Path.Combine(TrainBench.RepoRoot(), "models", "shakespeare-char");
        var (model, tok) = ModelDirectory.Load(dir);
        return (model, tok, dir);
    }

    // Speed does not depend on the weights: a randomly initialised model of the size the issue names.
    static (LlamaForCausalLM, ITokenizer, string) Model25M()
    {
        var tok = CharTokenizer.Train(File.ReadAllText(Path.Combine(TrainBench.RepoRoot(), "data", "tinyshakespeare.txt")));
        var m = new LlamaForCausalLM(new LlamaConfig { VocabSize = tok.VocabSize, HiddenSize = 512, IntermediateSize = 1368, NumLayers = 8, NumHeads = 8, NumKvHeads = 8, MaxPositions = 512 });
        m.InitializeWeights(1);
        m.eval();
        return (m, tok, "random-init 8 × 512 (~25M)");
    }

    /// <summary>Returns (ms to first token, per-sequence decode tokens/s after it) for <paramref name="batch"/> samples of one prompt.</summary>
    static (double Ttft, double PerSequence) Decode(LlamaForCausalLM model, ITokenizer tok, int[] prompt, GenerationOptions options, int batch)
    {
        using var engine = new GenerationEngine(model, tok, batch);
        var sw = Stopwatch.StartNew();
        engine.Add(prompt, options with { N = batch });
        engine.Step();
        double ttft = sw.Elapsed.TotalMilliseconds;
        int steps = 0;
        sw.Restart();
        while (engine.HasWork) { engine.Step(); steps++; }
        return (ttft, steps / sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// ms of an engine step (batch 1, sampling and text decoding included) and of a bare cached forward pass
    /// with the logits copied to the CPU, paired at each position (which one goes first alternates) so the
    /// machine's drift and cache effects fall on both equally.
    /// </summary>
    static List<(double Engine, double Bare)> Interleaved(LlamaForCausalLM model, ITokenizer tok, int[] prompt, GenerationOptions options)
    {
        using var engine = new GenerationEngine(model, tok, 1);
        using var cache = new KvCache(model.Config, 1);
        var seq = engine.Add(prompt, options)[0];
        engine.Step();
        using (no_grad()) using (NewDisposeScope()) model.forward(tensor(prompt.Select(t => (long)t).ToArray()).unsqueeze(0), cache.Begin([0], prompt.Length));
        var pairs = new List<(double Engine, double Bare)>();
        var sw = new Stopwatch();
        for (int i = 0; engine.HasWork; i++)
        {
            long last = seq.Tokens[^1];
            double e = 0, b = 0;
            void Engine() { sw.Restart(); engine.Step(); e = sw.Elapsed.TotalMilliseconds; }
            void Bare()
            {
                using var _ = no_grad();
                sw.Restart();
                using (NewDisposeScope())   // freeing the pass's temporaries is part of its cost
                    model.forward(tensor(new[] { last }).view(1, 1), cache.Begin([0], 1)).cpu().data<float>().ToArray();
                b = sw.Elapsed.TotalMilliseconds;
            }
            if (i % 2 == 0) { Engine(); Bare(); } else { Bare(); Engine(); }
            pairs.Add((e, b));
        }
        return pairs;
    }

    /// <summary>Mean ms per decode step and per model forward inside it, batch 1, over three generations.</summary>
    static (double Step, double Model) Overhead(LlamaForCausalLM model, ITokenizer tok, int[] prompt, GenerationOptions options)
    {
        double step = 0, inModel = 0;
        for (int r = 0; r < 3; r++)
        {
            using var engine = new GenerationEngine(model, tok, 1);
            engine.Add(prompt, options);
            engine.Step();
            var before = engine.ModelTime;
            var sw = Stopwatch.StartNew();
            int n = 0;
            while (engine.HasWork) { engine.Step(); n++; }
            step += sw.Elapsed.TotalMilliseconds / n;
            inModel += (engine.ModelTime - before).TotalMilliseconds / n;
        }
        return (step / 3, inModel / 3);
    }

    /// <summary>Median ms per token when every token re-runs the whole sequence (generation without a cache), greedy.</summary>
    static double NoCache(LlamaForCausalLM model, int[] prompt, int tokens)
    {
        var ids = prompt.Select(t => (long)t).ToList();
        var times = new List<double>();
        using var _ = no_grad();
        var sw = new Stopwatch();
        for (int i = 0; i < tokens; i++)
        {
            using var scope = NewDisposeScope();
            sw.Restart();
            ids.Add(model.forward(tensor(ids.ToArray()).unsqueeze(0))[0, -1].argmax().item<long>());
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return Median(times);
    }

    static double Median(List<double> x) => x.Order().ElementAt(x.Count / 2);
}
