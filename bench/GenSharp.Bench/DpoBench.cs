using System.Diagnostics;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Plotting;
using GenSharp.Sampling;
using GenSharp.Training;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// DPO on the planted preference (a line that speaks of love beats one that does not), judged by that same program:
/// at several points of each run, K answers to "Speak:\n" are sampled (temperature 1, the same seeds every time) from the
/// policy and from the reference. Reported: the rate of answers that speak of love, the win rate over the reference's
/// answer of the same seed (a tie counts half), and the per-token KL(π ‖ π_ref) estimated on the policy's samples
/// (mean of log π − log π_ref over their tokens). Full and LoRA; the reward-vs-KL curves go to dpo-reward-vs-kl.png.
/// </summary>
static class DpoBench
{
    public static int Run(string[] args)
    {
        int steps = Arg(args, "--steps", 200), points = Arg(args, "--points", 4), samples = Arg(args, "--samples", 128), tokens = Arg(args, "--max-tokens", 48);
        var methods = (ArgS(args, "--methods") ?? "lora,full").Split(',');
        var keep = ArgS(args, "--out");
        var root = TrainBench.RepoRoot();
        var baseDir = Path.Combine(root, "models", "shakespeare-char");
        var dir = keep is null ? Directory.CreateTempSubdirectory("gensharp-dpo-").FullName : Directory.CreateDirectory(keep).FullName;
        try
        {
            var data = Path.Combine(dir, "pairs.jsonl");
            PlantedPreference.Write(data, 2000, 200, seed: 3);
            using var reference = AutoPipeline.OpenText(baseDir).Model;
            var referenceAnswers = Sample(reference, baseDir, samples, tokens).Select(a => PlantedPreference.Holds(a.Text)).ToArray();
            Console.WriteLine($"{samples} answers of up to {tokens} tokens to {System.Text.Json.JsonSerializer.Serialize(PlantedPreference.Prompt)}; threads {get_num_threads()}");
            Console.WriteLine($"reference (the bundled model): {100.0 * referenceAnswers.Count(x => x) / samples:F1} % of its answers speak of love");
            var curves = new List<(string, IReadOnlyList<(double, double)>)>();
            foreach (var method in methods)
            {
                var run = Path.Combine(dir, method);
                if (Directory.Exists(run)) Directory.Delete(run, true);
                var opt = new DpoOptions
                {
                    BaseModel = baseDir, Data = data, Method = method, Beta = 0.1, Steps = steps, BatchSize = 8,
                    LearningRate = method == "full" ? 1e-4 : 1e-3, MinLr = method == "full" ? 1e-5 : 1e-4, EvalInterval = steps,
                    DataOptions = new Data.SftDataOptions { EvalFraction = 200.0 / 2200 },
                };
                var table = new List<(long Step, double Rate, double Win, double Kl)>();
                var sw = Stopwatch.StartNew();
                using (var loop = DpoTrainer.Create(run, opt, "gensharp-bench dpo", CPU))
                {
                    var policy = ((DpoTrainer)loop.Task).Model;
                    void Measure(long step)
                    {
                        var answers = Sample(policy, baseDir, samples, tokens);
                        var holds = answers.Select(a => PlantedPreference.Holds(a.Text)).ToArray();
                        double win = holds.Zip(referenceAnswers, (p, r) => p == r ? 0.5 : p ? 1.0 : 0.0).Average();
                        table.Add((step, holds.Average(h => h ? 1.0 : 0.0), win, Kl(policy, reference, answers)));
                    }
                    Measure(0);
                    loop.Run(observer: new At([.. Enumerable.Range(1, points).Select(i => (long)steps * i / points)], Measure));
                }
                double minutes = sw.Elapsed.TotalMinutes;
                Console.WriteLine($"{method} DPO (β 0.1, lr {opt.LearningRate}, batch 8 pairs, {steps} steps, {minutes:F1} min):");
                Console.WriteLine("  step | speaks of love | win rate vs reference | KL per token (nats)");
                foreach (var (step, rate, win, kl) in table) Console.WriteLine($"  {step,4} | {100 * rate,13:F1} % | {100 * win,20:F1} % | {kl,8:F4}");
                curves.Add(($"{method}: share that speaks of love", [.. table.Select(t => (t.Kl, t.Rate))]));
                curves.Add(($"{method}: win rate vs reference", [.. table.Select(t => (t.Kl, t.Win))]));
            }
            var png = Path.Combine(keep ?? Path.Combine(root, "docs", "images"), "dpo-reward-vs-kl.png");
            LossCurve.SaveXY(png, curves, "DPO on a planted preference: reward vs KL to the reference", "KL(π ‖ π_ref) per token (nats)", "rate");
            Console.WriteLine($"plot: {png}");
            return 0;
        }
        finally { if (keep is null) Directory.Delete(dir, recursive: true); }
    }

    // K answers at temperature 1 with fixed seeds, with the sampler's log-probabilities of their tokens.
    static IReadOnlyList<GeneratedSequence> Sample(LlamaForCausalLM model, string dir, int k, int tokens)
    {
        var tokenizer = Tokenizers.TokenizerJson.Load(Path.Combine(dir, "tokenizer.json"));
        using var engine = new GenerationEngine(model, tokenizer, Math.Min(k, 64));
        var prompt = tokenizer.Encode(PlantedPreference.Prompt);
        var all = new List<GeneratedSequence>();
        for (int at = 0; at < k; at += engine.Capacity)
        {
            int n = Math.Min(engine.Capacity, k - at);
            all.AddRange(engine.Add(prompt, new GenerationOptions { MaxTokens = tokens, Temperature = 1, N = n, Seed = 1000 + at, Logprobs = true, Stop = ["\n\n"] }));
            while (engine.HasWork) engine.Step();
        }
        return all;
    }

    // Mean over the policy's sampled tokens of log π − log π_ref: an unbiased estimate of the per-token KL(π ‖ π_ref).
    static double Kl(LlamaForCausalLM policy, LlamaForCausalLM reference, IReadOnlyList<GeneratedSequence> answers)
    {
        using var _ = no_grad();
        double sum = 0;
        long count = 0;
        foreach (var a in answers.Where(a => a.Tokens.Count > 0))
        {
            using var scope = NewDisposeScope();
            var ids = tensor(a.PromptTokens.Concat(a.Tokens).Select(t => (long)t).ToArray()).unsqueeze(0);
            var logp = reference.forward(ids)[0].log_softmax(-1);
            for (int i = 0; i < a.Tokens.Count; i++)
                sum += a.Logprobs![i].Logprob - logp[a.PromptTokens.Count + i - 1, a.Tokens[i]].item<float>();
            count += a.Tokens.Count;
        }
        return count > 0 ? sum / count : 0;
    }

    sealed class At(HashSet<long> steps, Action<long> measure) : ITrainingObserver
    {
        public void OnStep(StepMetrics m) { if (steps.Contains(m.Step)) measure(m.Step); }
    }

    static int Arg(string[] args, string name, int fallback) => ArgS(args, name) is { } s ? int.Parse(s) : fallback;

    static string? ArgS(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
