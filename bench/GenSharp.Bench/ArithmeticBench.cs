using System.Diagnostics;
using System.Text.Json;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using GenSharp.Training;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// Task SFT with a checkable answer: "What is A + B?" with two- and three-digit numbers, answered in the chat template.
/// The bundled model has no digits but 3 and no "+", so fine-tuning must extend the vocabulary. Exact-match accuracy on
/// held-out questions (greedy decoding through the chat path) for the base model, full SFT and LoRA SFT.
/// </summary>
static class ArithmeticBench
{
    public static int Run(string[] args)
    {
        int steps = Arg(args, "--steps", 2000), train = Arg(args, "--train", 20000), test = Arg(args, "--test", 200);
        var root = TrainBench.RepoRoot();
        var baseModel = Path.Combine(root, "models", "shakespeare-char");
        var dir = Directory.CreateTempSubdirectory("gensharp-arithmetic-").FullName;
        try
        {
            var rng = new Random(7);
            var seen = new HashSet<(int, int)>();
            (int A, int B) Draw() { int Digits() => rng.Next(2) == 0 ? rng.Next(10, 100) : rng.Next(100, 1000); return (Digits(), Digits()); }
            var testSet = new List<(int A, int B)>();
            while (testSet.Count < test) { var q = Draw(); if (seen.Add(q)) testSet.Add(q); }
            var data = Path.Combine(dir, "train.jsonl");
            using (var w = new StreamWriter(data))
                for (int i = 0; i < train;)
                {
                    var q = Draw();
                    if (seen.Contains(q)) continue;   // no held-out question is trained on
                    w.WriteLine(JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = $"What is {q.A} + {q.B}?" }, new { role = "assistant", content = $"{q.A + q.B}" } } }));
                    i++;
                }
            Console.WriteLine($"{train:N0} training questions, {test} held-out; {steps} steps per run; threads {get_num_threads()}");
            Console.WriteLine($"base model: exact match 0.0 % (its vocabulary has no digits but 3: it cannot write the answers)");
            foreach (var (method, lr, rank) in new[] { ("full", 1e-3, 0), ("lora", 3e-3, 16) })
            {
                var outDir = Path.Combine(dir, method);
                var opt = new SftOptions
                {
                    BaseModel = baseModel, Data = data, Method = method, ExtendVocab = true, Steps = steps, BatchSize = 16,
                    LearningRate = lr, MinLr = lr / 10, WarmupSteps = 50, EvalInterval = steps, EvalBatches = 8, Seed = 1,
                    Lora = new Models.LoraConfig { Rank = Math.Max(1, rank), Alpha = 2 * Math.Max(1, rank), Dropout = 0 },
                    DataOptions = new Data.SftDataOptions { EvalFraction = 0.02 },
                };
                var sw = Stopwatch.StartNew();
                long trainable;
                using (var loop = SftTrainer.Create(outDir, opt, "gensharp-bench arithmetic", CPU))
                {
                    trainable = ((SftTrainer)loop.Task).TrainableParameters;
                    loop.Run();
                }
                double minutes = sw.Elapsed.TotalMinutes;
                var chat = method == "full" ? AutoPipeline.OpenChat(outDir) : AutoPipeline.OpenChat(baseModel, adapter: outDir);
                int correct = 0;
                var options = new GenerationOptions { MaxTokens = 6, Temperature = 0 };
                foreach (var (a, b) in testSet)
                {
                    var reply = chat.Complete([new ChatMessage("user", $"What is {a} + {b}?")], options).Choices[0].Text.Trim();
                    if (reply == (a + b).ToString()) correct++;
                }
                Console.WriteLine($"{method} SFT: exact match {100.0 * correct / test:F1} % ({correct}/{test}); {trainable:N0} trainable parameters; {minutes:F1} min");
            }
            return 0;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
    }
}
