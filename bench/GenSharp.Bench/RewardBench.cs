using System.Diagnostics;
using System.Text.Json;
using GenSharp.Data;
using GenSharp.Training;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// A reward model on a planted preference: from the bundled Shakespeare model, pairs of real lines of the play where the
/// chosen line speaks of love ("love", "lover", "beloved", …) and the rejected one does not; the held-out pairs are built
/// from lines never trained on. Reports held-out accuracy (the issue's goal: ≥ 95 %), loss and speed; the run's
/// loss.png and metrics stay in --out when given.
/// </summary>
static class RewardBench
{
    public static int Run(string[] args)
    {
        int steps = Arg(args, "--steps", 300), train = Arg(args, "--train", 2000), test = Arg(args, "--test", 400), batch = Arg(args, "--batch-size", 16);
        var keep = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault();
        var root = TrainBench.RepoRoot();
        var dir = keep is null ? Directory.CreateTempSubdirectory("gensharp-reward-").FullName : Directory.CreateDirectory(keep).FullName;
        try
        {
            var data = Path.Combine(dir, "pairs.jsonl");
            var (love, other) = PlantedPreference.Write(data, train, test, seed: 7);
            var opt = new RewardOptions
            {
                BaseModel = Path.Combine(root, "models", "shakespeare-char"), Data = data, Steps = steps, BatchSize = batch, EvalInterval = Math.Max(1, steps / 6),
                DataOptions = new SftDataOptions { EvalFraction = (double)test / (train + test) },
            };
            var run = Path.Combine(dir, "run");
            if (Directory.Exists(run)) Directory.Delete(run, true);
            var sw = Stopwatch.StartNew();
            using var loop = RewardTrainer.Create(run, opt, "gensharp-bench reward", CPU);
            loop.Run();
            var eval = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
                .Where(e => e.TryGetProperty("eval_accuracy", out _)).Select(e => $"step {e.GetProperty("step")}: {100 * e.GetProperty("eval_accuracy").GetDouble():F1} %");
            Console.WriteLine($"{love:N0} lines of the play speak of love, {other:N0} do not; {train:N0} training pairs, {test} held-out pairs from other lines; " +
                $"{steps} steps of {batch} pairs; threads {get_num_threads()}");
            Console.WriteLine($"held-out accuracy by step: {string.Join(", ", eval)}");
            Console.WriteLine($"{sw.Elapsed.TotalMinutes:F1} min ({sw.Elapsed.TotalMilliseconds / steps:F0} ms/step including evaluation)");
            return 0;
        }
        finally { if (keep is null) Directory.Delete(dir, recursive: true); }
    }

    static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
    }
}
