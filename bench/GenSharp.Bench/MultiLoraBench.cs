using System.Diagnostics;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// Multi-LoRA decoding: 16 sequences spread over 4 served adapters (one copy of the base, rows routed per adapter in each
/// decode step) against 16 sequences of one model with an adapter merged into it, aggregate tokens/s, rounds alternated
/// in one process. The goal: ≥ 0.8×.
/// </summary>
static class MultiLoraBench
{
    public static int Run(string[] args)
    {
        int tokens = 64, rounds = 5, rank = 8;
        var dir = Path.Combine(TrainBench.RepoRoot(), "models", "shakespeare-char");
        var tmp = Directory.CreateTempSubdirectory("gensharp-multilora-").FullName;
        try
        {
            if (args.Contains("--size-25m"))
            {
                // Speed does not depend on the weights: a randomly initialised 8 × 512 model (~25 M parameters), saved as a model directory.
                var tok = Tokenizers.CharTokenizer.Train(File.ReadAllText(Path.Combine(TrainBench.RepoRoot(), "data", "tinyshakespeare.txt")));
                using var big = new LlamaForCausalLM(new LlamaConfig { VocabSize = tok.VocabSize, HiddenSize = 512, IntermediateSize = 1368, NumLayers = 8, NumHeads = 8, NumKvHeads = 8, MaxPositions = 256 });
                big.InitializeWeights(1);
                dir = Path.Combine(tmp, "base-25m");
                ModelDirectory.Save(dir, big, tok);
            }
            var adapters = Enumerable.Range(0, 4).Select(i =>
            {
                var text = AutoPipeline.OpenText(dir);
                var config = new LoraConfig { Rank = rank, Alpha = 2 * rank };
                text.Model.AttachLora(config, seed: i);
                using (no_grad()) foreach (var (_, l) in text.Model.LoraLayers) l.B.normal_(0, 0.02);
                var path = Path.Combine(tmp, $"a{i}");
                LoraAdapter.Save(path, text.Model, config, dir);
                text.Model.Dispose();
                return path;
            }).ToArray();
            var served = AutoPipeline.OpenText(dir);
            for (int i = 0; i < adapters.Length; i++) LoraAdapter.Serve(adapters[i], $"a{i}", served.Model);
            var merged = AutoPipeline.OpenText(dir, adapter: adapters[0]);
            merged.Model.MergeLora();
            var options = new GenerationOptions { MaxTokens = tokens, Temperature = 0.8, Seed = 1, IgnoreEos = true };
            var prompt = served.Tokenizer.Encode("ROMEO:\n");
            double Decode(TextGenerationPipeline p, Func<int, int> adapter)
            {
                using var engine = new GenerationEngine(p.Model, p.Tokenizer, 16);
                var seqs = Enumerable.Range(0, 16).Select(i => engine.Add(prompt, options with { Seed = i }, adapter(i))[0]).ToArray();
                var sw = Stopwatch.StartNew();
                while (seqs.Any(s => s.Finish is null)) engine.Step();
                return seqs.Sum(s => s.Tokens.Count) / sw.Elapsed.TotalSeconds;
            }
            Decode(served, i => i % 4);
            Decode(merged, _ => -1);   // warm-up
            var multi = new List<double>();
            var single = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                multi.Add(Decode(served, i => i % 4));
                single.Add(Decode(merged, _ => -1));
            }
            double m = multi.Order().ElementAt(rounds / 2), s = single.Order().ElementAt(rounds / 2);
            Console.WriteLine($"{dir}: 16 streams × {tokens} tokens, LoRA r {rank} on all projections; medians of {rounds} alternated rounds; threads {get_num_threads()}");
            Console.WriteLine($"16 streams over 4 served adapters: {m:F0} tokens/s; 16 streams on a merged model: {s:F0} tokens/s; ratio {m / s:F2}× (goal ≥ 0.8×)");
            return 0;
        }
        finally { Directory.Delete(tmp, recursive: true); }
    }
}
