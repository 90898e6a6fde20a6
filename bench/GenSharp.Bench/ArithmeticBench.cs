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
/// With <c>--out DIR</c> the runs are kept (DIR/full, DIR/lora, DIR/train.jsonl, DIR/heldout.jsonl, DIR/arithmetic.json)
/// and a killed run resumes from its last checkpoint when the command is run again.
/// </summary>
static class ArithmeticBench
{
    public static int Run(string[] args)
    {
        int steps = Arg(args, "--steps", 2000), train = Arg(args, "--train", 20000), test = Arg(args, "--test", 200);
        int batch = Arg(args, "--batch-size", 16), evalEvery = Arg(args, "--eval-interval", steps);
        var methods = (ArgS(args, "--methods") ?? "full,lora").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var keep = ArgS(args, "--out");
        var root = TrainBench.RepoRoot();
        var baseModel = Path.Combine(root, "models", "shakespeare-char");
        var dir = keep is null ? Directory.CreateTempSubdirectory("gensharp-arithmetic-").FullName : Directory.CreateDirectory(keep).FullName;
        try
        {
            var (data, testSet) = WriteData(dir, train, test);
            Console.WriteLine($"{train:N0} training questions, {test} held-out; {steps} steps of batch {batch} per run; threads {get_num_threads()}");
            Console.WriteLine($"base model: exact match 0.0 % (its vocabulary has no digits but 3: it cannot write the answers)");
            var results = new Dictionary<string, object>();
            foreach (var method in methods)
            {
                double lr = method == "full" ? 1e-3 : 3e-3;
                int rank = 16;
                var outDir = Path.Combine(dir, method);
                var opt = new SftOptions
                {
                    BaseModel = baseModel, Data = data, Method = method, ExtendVocab = true, Steps = steps, BatchSize = batch,
                    LearningRate = lr, MinLr = lr / 10, WarmupSteps = 50, EvalInterval = evalEvery, EvalBatches = 8, Seed = 1,
                    Lora = new Models.LoraConfig { Rank = rank, Alpha = 2 * rank, Dropout = 0 },
                    DataOptions = new Data.SftDataOptions { EvalFraction = 0.02 },
                };
                var sw = Stopwatch.StartNew();
                long trainable;
                bool resume = Directory.Exists(Path.Combine(outDir, "training_state"));
                using (var loop = resume ? TrainingLoop.Resume(outDir, CPU) : SftTrainer.Create(outDir, opt, "gensharp-bench arithmetic", CPU))
                {
                    trainable = ((SftTrainer)loop.Task).TrainableParameters;
                    loop.Run(observer: new Progress(method));
                }
                double minutes = sw.Elapsed.TotalMinutes;
                var chat = method == "full" ? AutoPipeline.OpenChat(outDir) : AutoPipeline.OpenChat(baseModel, adapter: outDir);
                var score = Score(chat, testSet);
                Console.WriteLine($"{method} SFT: exact match {score.Percent:F1} % ({score.Correct}/{test}; with a carry {score.CarryPercent:F1} %, " +
                    $"without {score.NoCarryPercent:F1} %); {trainable:N0} trainable parameters; {minutes:F1} min{(resume ? " (this session)" : "")}");
                results[method] = new { exact_match = score.Percent / 100, correct = score.Correct, test, carry = score.CarryPercent / 100,
                    no_carry = score.NoCarryPercent / 100, trainable, steps, batch_size = batch, learning_rate = lr };
            }
            if (keep is not null)
                File.WriteAllText(Path.Combine(dir, "arithmetic.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        finally { if (keep is null) Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Training questions and held-out questions, disjoint; the same seed gives the same files.</summary>
    static (string Train, List<(int A, int B)> Test) WriteData(string dir, int train, int test)
    {
        var rng = new Random(7);
        var seen = new HashSet<(int, int)>();
        (int A, int B) Draw() { int Digits() => rng.Next(2) == 0 ? rng.Next(10, 100) : rng.Next(100, 1000); return (Digits(), Digits()); }
        var testSet = new List<(int A, int B)>();
        while (testSet.Count < test) { var q = Draw(); if (seen.Add(q)) testSet.Add(q); }
        string Line((int A, int B) q) => JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = $"What is {q.A} + {q.B}?" }, new { role = "assistant", content = $"{q.A + q.B}" } } });
        var data = Path.Combine(dir, "train.jsonl");
        using (var w = new StreamWriter(data))
            for (int i = 0; i < train;)
            {
                var q = Draw();
                if (seen.Contains(q)) continue;   // no held-out question is trained on
                w.WriteLine(Line(q));
                i++;
            }
        File.WriteAllLines(Path.Combine(dir, "heldout.jsonl"), testSet.Select(Line));
        return (data, testSet);
    }

    sealed record Accuracy(int Correct, double Percent, double CarryPercent, double NoCarryPercent);

    static Accuracy Score(ChatPipeline chat, List<(int A, int B)> testSet)
    {
        var options = new GenerationOptions { MaxTokens = 6, Temperature = 0 };
        int correct = 0, carry = 0, carryRight = 0, noCarryRight = 0;
        foreach (var (a, b) in testSet)
        {
            var reply = chat.Complete([new ChatMessage("user", $"What is {a} + {b}?")], options).Choices[0].Text.Trim();
            bool right = reply == (a + b).ToString(), hasCarry = HasCarry(a, b);
            if (right) correct++;
            if (hasCarry) { carry++; if (right) carryRight++; } else if (right) noCarryRight++;
        }
        int noCarry = testSet.Count - carry;
        return new Accuracy(correct, 100.0 * correct / testSet.Count, carry > 0 ? 100.0 * carryRight / carry : 0, noCarry > 0 ? 100.0 * noCarryRight / noCarry : 0);
    }

    static bool HasCarry(int a, int b)
    {
        for (; a > 0 || b > 0; a /= 10, b /= 10) if (a % 10 + b % 10 >= 10) return true;
        return false;
    }

    sealed class Progress(string method) : ITrainingObserver
    {
        public void OnStep(StepMetrics m) { if (m.Step % 500 == 0) Console.WriteLine($"  {method}: step {m.Step}/{m.TotalSteps} loss {m.Loss:F4} {m.StepMs:F0} ms/step"); }
    }

    static int Arg(string[] args, string name, int fallback) => ArgS(args, name) is { } s ? int.Parse(s) : fallback;

    static string? ArgS(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
