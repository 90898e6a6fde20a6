using System.Diagnostics;
using GenSharp.Interop;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tests.Interop;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// A model's GGUF round trips (docs/benchmarks.md, "Interop"): exported as f32, f16 and q8_0 and run in llama.cpp
/// (LLamaSharp's prebuilt CPU backend, fp32 KV cache, no flash attention) on a set of prompts — the tokens its tokenizer
/// makes, max |Δ logit| at the prompt's last position, and how many of 64 greedy tokens agree with GenSharp's (q8_0 against
/// GenSharp running the same file imported, so both use the decoded weights) — then imported back (f32: bitwise).
/// </summary>
static class GgufBench
{
    static readonly string[] Prompts = ["ROMEO:\n", "First Citizen:\nWe are accounted poor citizens", "KING HENRY VI:\nWhat", "To be, or not", "\n\nJULIET:\nO"];

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var dir = Arg("--model") ?? "models/shakespeare-char";
        var work = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"gensharp-gguf-{Environment.ProcessId}")).FullName;
        try
        {
            var (model, tokenizer) = ModelDirectory.Load(dir);
            using var _ = model;
            Console.WriteLine($"{dir}: {model.Config.ParameterCount:N0} parameters, {model.Config.NumLayers} layers × {model.Config.HiddenSize}, vocabulary {model.Config.VocabSize}");
            Console.WriteLine("| type | file | export | tokens equal | max |Δ logit| (worst prompt) | greedy tokens equal (of 64 × 5) | import |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            foreach (var type in LlamaGguf.Types)
            {
                var path = Path.Combine(work, $"{type}.gguf");
                var sw = Stopwatch.StartNew();
                LlamaGguf.Export(dir, path, type);
                double exportS = sw.Elapsed.TotalSeconds;
                var importDir = Path.Combine(work, type);
                sw.Restart();
                LlamaGguf.Import(path, importDir);
                double importS = sw.Elapsed.TotalSeconds;
                var (imported, _) = ModelDirectory.Load(importDir);
                using var __ = imported;
                string bitwise = type == "f32" && model.state_dict().All(p => p.Value.equal(imported.state_dict()[p.Key]).all().item<bool>()) ? "bitwise, " : "";
                var reference = type == "q8_0" ? imported : model;
                using var cpp = new LlamaCpp(path);
                bool tokensEqual = true;
                double worst = 0;
                int agree = 0, total = 0;
                foreach (var prompt in Prompts)
                {
                    var ids = tokenizer.Encode(prompt);
                    tokensEqual &= ids.SequenceEqual(cpp.Tokenize(prompt));
                    var (logits, greedy) = cpp.Run(ids, 64);
                    worst = Math.Max(worst, LlamaCpp.Logits(reference, ids).Zip(logits, (a, b) => Math.Abs(a - b)).Max());
                    var ours = LlamaCpp.Greedy(reference, ids, 64);
                    int same = ours.Zip(greedy).TakeWhile(p => p.First == p.Second).Count();   // up to the first difference
                    (agree, total) = (agree + same, total + 64);
                }
                Console.WriteLine($"| {type} | {new FileInfo(path).Length / 1048576.0:F1} MiB | {exportS:F1} s | {(tokensEqual ? "yes" : "NO")} | {worst:G3} | {agree} / {total} | {bitwise}{importS:F1} s |");
            }
            return 0;
        }
        finally { Directory.Delete(work, true); }
    }
}
