using GenSharp.Data;
using GenSharp.Tokenizers;
using GenSharp.Training;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// Times real <see cref="LmTrainer"/> steps on tiny Shakespeare for a preset and reports ms/step,
/// tokens/s and model FLOPs utilisation against the GEMM peak measured in the same process.
/// </summary>
static class TrainBench
{
    public static int Run(string[] args)
    {
        string preset = Arg(args, "--preset") ?? "nano-cpu";
        int steps = int.Parse(Arg(args, "--steps") ?? "200");
        if (Arg(args, "--threads") is { } t) set_num_threads(int.Parse(t));
        var p = Preset.Get(preset);
        int Int(string name, int fallback) => Arg(args, name) is { } v ? int.Parse(v) : fallback;
        var model = p.Model with
        {
            NumLayers = Int("--layers", p.Model.NumLayers), HiddenSize = Int("--dim", p.Model.HiddenSize),
            NumHeads = Int("--heads", p.Model.NumHeads), NumKvHeads = Int("--heads", p.Model.NumKvHeads),
            IntermediateSize = Int("--ffn-dim", Arg(args, "--dim") is { } d ? (int.Parse(d) * 8 / 3 + 7) / 8 * 8 : p.Model.IntermediateSize),
            MaxPositions = Int("--context", p.Model.MaxPositions), HiddenDropout = 0,
        };

        var text = File.ReadAllText(FindData());
        var tok = CharTokenizer.Train(text);
        var dir = Directory.CreateTempSubdirectory("gensharp-bench-").FullName;
        try
        {
            var data = TokenDataset.Build(text, tok, Path.Combine(dir, "dataset"));
            var opt = p.Train with { Steps = steps, BatchSize = Int("--batch-size", p.Train.BatchSize), EvalInterval = int.MaxValue / 2, LogInterval = int.MaxValue / 2 };
            using var loop = LmTrainer.Create(dir, model with { VocabSize = tok.VocabSize }, tok, data, opt,
                new RunInfo("gensharp-bench train", "tinyshakespeare", "char", preset), CPU);
            var probe = new StepTimes(warmup: Math.Min(20, steps / 5));
            loop.Run(default, probe);
            long n = loop.Task.ParameterCount;
            long tokensPerStep = (long)opt.BatchSize * opt.GradAccum * model.MaxPositions;
            double ms = probe.Median, tokPerS = tokensPerStep / (ms / 1000);
            double peak = GemmBench.Measure(print: false);
            double mfu = 6.0 * n * tokPerS / (peak * 1e9);
            Console.WriteLine($"preset {preset}: {model.NumLayers} layers × {model.HiddenSize} dims, context {model.MaxPositions}, {n:N0} params, {tokensPerStep} tokens/step, threads {get_num_threads()}");
            Console.WriteLine($"step time: median {ms:F1} ms, mean {probe.Mean:F1} ms over {probe.Count} steps");
            Console.WriteLine($"throughput: {tokPerS:N0} tokens/s; GEMM peak {peak:F1} GFLOP/s; MFU (6·N·tokens/s ÷ peak) {mfu:P1}");
            return 0;
        }
        finally { Directory.Delete(dir, true); }
    }

    static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    static string FindData() => Path.Combine(RepoRoot(), "data", "tinyshakespeare.txt");

    /// <summary>The repository root: the first directory above the working directory or the binary holding data/tinyshakespeare.txt.</summary>
    public static string RepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "data", "tinyshakespeare.txt"))) return d.FullName;
        throw new FileNotFoundException("data/tinyshakespeare.txt not found above the bench binary");
    }

    sealed class StepTimes(int warmup) : ITrainingObserver
    {
        readonly List<double> _ms = [];
        int _seen;
        public void OnStep(StepMetrics m) { if (_seen++ >= warmup) _ms.Add(m.StepMs); }
        public int Count => _ms.Count;
        public double Mean => _ms.Average();
        public double Median => _ms.Order().ElementAt(_ms.Count / 2);
    }
}
