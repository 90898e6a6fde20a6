using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Pipelines;
using GenSharp.Plotting;
using GenSharp.Refinement;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// Best-of-n on a task with a checkable answer (the arithmetic benchmark's held-out questions): for n = 1, 2, 4, 8, 16,
/// the exact-match accuracy of the candidate ranked best by mean log-probability (OpenAI's best_of) and, with --reward,
/// by a reward model; the oracle (any of the n right: the ceiling of any ranking); greedy decoding for reference; and
/// the time a best_of request takes. The 16 samples of a question are drawn once, seeded: the first n of them are
/// exactly what best_of n samples (each sample's stream depends on the seed and its index only).
/// </summary>
static class BestOfBench
{
    public static int Run(string[] args)
    {
        var model = ArgS(args, "--model") ?? throw new ArgumentException("--model DIR (e.g. an arithmetic SFT run) is required");
        var heldout = ArgS(args, "--heldout") ?? throw new ArgumentException("--heldout FILE (SFT rows: the user's question, the assistant's answer) is required");
        var rewardDir = ArgS(args, "--reward");
        var outDir = Directory.CreateDirectory(ArgS(args, "--out") ?? "runs/best-of").FullName;
        double temperature = double.Parse(ArgS(args, "--temperature") ?? "1", System.Globalization.CultureInfo.InvariantCulture);
        int timed = int.Parse(ArgS(args, "--timed") ?? "50");
        int[] ns = [1, 2, 4, 8, 16];
        var chat = AutoPipeline.OpenChat(model);
        var questions = File.ReadLines(heldout).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!["messages"]!.AsArray())
            .Select(m => (Conversation: (IReadOnlyList<ChatMessage>)[new ChatMessage("user", (string)m[0]!["content"]!)], Answer: (string)m[^1]!["content"]!)).ToList();
        using var reward = rewardDir is null ? null : AutoPipeline.OpenReward(rewardDir);
        var scorers = new List<ICandidateScorer> { MeanLogProbScorer.Instance };
        if (reward is not null) scorers.Add(new RewardScorer(reward, chat.Text.Tokenizer));
        Console.WriteLine($"{questions.Count} held-out questions; {ns[^1]} samples each at temperature {temperature}; threads {get_num_threads()}");

        var greedyOptions = new GenerationOptions { MaxTokens = 6, Temperature = 0 };
        int greedy = questions.Count(q => chat.Complete(q.Conversation, greedyOptions).Choices[0].Text.Trim() == q.Answer);
        Console.WriteLine($"greedy: {100.0 * greedy / questions.Count:F1} %");

        var right = scorers.ToDictionary(s => s.Name, _ => new int[ns.Length]);
        var score = scorers.ToDictionary(s => s.Name, _ => new double[ns.Length]);
        var oracle = new int[ns.Length];
        var sampling = new GenerationOptions { MaxTokens = 6, Temperature = temperature, Logprobs = true };
        for (int q = 0; q < questions.Count; q++)
        {
            var (conversation, answer) = questions[q];
            var all = chat.Complete(conversation, sampling with { N = ns[^1], Seed = 1000 + q });
            var prompt = new JsonArray([.. conversation.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);
            for (int k = 0; k < ns.Length; k++)
            {
                var first = new GenerationResult([.. all.Choices.Take(ns[k])], all.Usage);
                if (first.Choices.Any(c => c.Text.Trim() == answer)) oracle[k]++;
                foreach (var scorer in scorers)
                {
                    var best = BestOfN.Select(first, prompt, 1, scorer).Chosen[0];
                    if (best.Choice.Text.Trim() == answer) right[scorer.Name][k]++;
                    score[scorer.Name][k] += best.Score!.Value / questions.Count;
                }
            }
            if ((q + 1) % 50 == 0) Console.WriteLine($"  {q + 1}/{questions.Count} questions");
        }

        // The cost: a best_of request as a user makes it (candidates in one batch, then ranking), per question.
        var ms = scorers.ToDictionary(s => s.Name, _ => new double[ns.Length]);
        var request = new GenerationOptions { MaxTokens = 6, Temperature = temperature };
        foreach (var scorer in scorers)
            for (int k = 0; k < ns.Length; k++)
            {
                var sw = Stopwatch.StartNew();
                for (int q = 0; q < Math.Min(timed, questions.Count); q++)
                    BestOfN.Complete(chat, questions[q].Conversation, request with { Seed = q }, ns[k], scorer);
                ms[scorer.Name][k] = sw.Elapsed.TotalMilliseconds / Math.Min(timed, questions.Count);
            }

        double Pct(int count) => 100.0 * count / questions.Count;
        Console.WriteLine($"\n| n | {string.Join(" | ", scorers.Select(s => $"accuracy, ranked by {s.Name} | mean best {s.Name} | ms per question ({s.Name})"))} | oracle (any right) |");
        Console.WriteLine($"|---|{string.Concat(scorers.Select(_ => "---|---|---|"))}---|");
        for (int k = 0; k < ns.Length; k++)
            Console.WriteLine($"| {ns[k]} | {string.Join(" | ", scorers.Select(s => $"{Pct(right[s.Name][k]):F1} % | {score[s.Name][k]:F3} | {ms[s.Name][k]:F0}"))} | {Pct(oracle[k]):F1} % |");
        Console.WriteLine($"greedy decoding: {Pct(greedy):F1} %");

        var curves = scorers.Select(s => (Name: $"best of n by {s.Name}", Points: (IReadOnlyList<(double X, double Y)>)[.. ns.Select((n, k) => ((double)n, Pct(right[s.Name][k])))]))
            .Append(("oracle: any of the n right", [.. ns.Select((n, k) => ((double)n, Pct(oracle[k])))]))
            .Append(("greedy", [(1.0, Pct(greedy)), (ns[^1], Pct(greedy))])).ToList();
        LossCurve.SaveXY(Path.Combine(outDir, "best-of-n.png"), curves, $"Best-of-n on held-out additions (temperature {temperature})", "n (candidates)", "exact match (%)");
        var json = new
        {
            model, heldout, reward = rewardDir, temperature, questions = questions.Count, greedy = Pct(greedy) / 100, n = ns,
            oracle = oracle.Select(o => Pct(o) / 100),
            ranked = scorers.ToDictionary(s => s.Name, s => new { accuracy = right[s.Name].Select(r => Pct(r) / 100), mean_best_score = score[s.Name], ms_per_question = ms[s.Name] }),
        };
        File.WriteAllText(Path.Combine(outDir, "best-of-n.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {Path.Combine(outDir, "best-of-n.png")} and best-of-n.json");
        return 0;
    }

    static string? ArgS(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
