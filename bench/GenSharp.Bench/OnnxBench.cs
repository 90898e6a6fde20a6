using System.Diagnostics;
using GenSharp.Interop;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tests.Interop;
using GenSharp.Tests.Models;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// ONNX round trips (docs/benchmarks.md, "Interop"): the bundled language model and hub-layout fixtures of each family
/// exported with past key/values and run in ONNX Runtime (CPU) one token per call — max |Δ logit| at the prompt and at
/// every cached step against GenSharp running the whole sequence, greedy tokens agreeing, and greedy decode speed of both
/// side by side; then the bundled diffusion U-Net — max |Δ| of the noise prediction and the time of one batch.
/// </summary>
static class OnnxBench
{
    static readonly string[] Prompts = ["ROMEO:\n", "First Citizen:\nWe are accounted poor citizens", "KING HENRY VI:\nWhat", "To be, or not", "\n\nJULIET:\nO"];
    const int Steps = 64;

    public static int Run(string[] args)
    {
        var work = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"gensharp-onnx-{Environment.ProcessId}")).FullName;
        try
        {
            Console.WriteLine($"| model | export | model.onnx | nodes | max |Δ logit| (prompt, every step) | greedy tokens equal (of {Steps} × {Prompts.Length}) | greedy decode, ONNX Runtime | greedy decode, GenSharp |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");
            Language("models/shakespeare-char", "bundled (llama, char)", work);
            foreach (var (family, tied, rope) in new[] { ("llama", false, HfFixtures.Scaling(null)), ("mistral", false, HfFixtures.Scaling("linear")), ("qwen2", true, HfFixtures.Scaling("llama3")) })
            {
                var dir = Path.Combine(work, family);
                HfFixtures.Write(dir, family, "f32", tied: tied, ropeScaling: rope).Dispose();
                Language(dir, $"fixture {family}{(tied ? ", tied" : "")}{(rope is null ? "" : $", rope {rope.Kind}")}", work);
            }
            Diffusion("models/fmnist-diffusion", work);
            return 0;
        }
        finally { Directory.Delete(work, true); }
    }

    static void Language(string dir, string label, string work)
    {
        var sw = Stopwatch.StartNew();
        var export = OnnxExport.Export(dir, Path.Combine(work, "out-" + Path.GetFileName(dir)));
        double exportS = sw.Elapsed.TotalSeconds;
        var (model, tokenizer) = ModelDirectory.Load(dir);
        using var _ = model;
        using var ort = new OnnxDecoder(export.ModelFile);
        double worst = 0;
        int agree = 0, total = 0;
        var prompts = Prompts.Select(p => tokenizer.Encode(p)).ToArray();
        foreach (var ids in prompts)
        {
            var (logits, greedy, steps) = ort.Run(ids, Steps);
            worst = Math.Max(worst, LlamaCpp.Logits(model, ids).Zip(logits, (a, b) => Math.Abs(a - b)).Max());
            var ours = LlamaCpp.Greedy(model, ids, Steps);
            for (int s = 0; s < Steps - 1 && ours[s] == greedy[s]; s++)   // each step's logits while the sequences agree
                worst = Math.Max(worst, LlamaCpp.Logits(model, [.. ids, .. ours[..(s + 1)]]).Zip(steps[s], (a, b) => Math.Abs(a - b)).Max());
            (agree, total) = (agree + ours.Zip(greedy).TakeWhile(p => p.First == p.Second).Count(), total + Steps);
        }
        // Speed: the same greedy decodes, ONNX Runtime (prefill + one token per call) against GenSharp's pipeline (KV cache).
        sw.Restart();
        foreach (var ids in prompts) ort.Run(ids, Steps);
        double ortTps = prompts.Length * Steps / sw.Elapsed.TotalSeconds;
        var pipeline = new TextGenerationPipeline(model, tokenizer);
        var options = new GenerationOptions { MaxTokens = Steps, Temperature = 0, IgnoreEos = true };
        sw.Restart();
        foreach (var p in Prompts) pipeline.Generate(p, options);
        double oursTps = prompts.Length * Steps / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"| {label} | {exportS:F1} s | {new FileInfo(export.ModelFile).Length / 1048576.0:F1} MiB | {export.Nodes} | {worst:G3} | {agree} / {total} | {ortTps:F0} tok/s | {oursTps:F0} tok/s |");
    }

    static void Diffusion(string dir, string work)
    {
        var export = OnnxExport.Export(dir, Path.Combine(work, "unet"));
        using var unet = DiffusionPipeline.Load(dir).Model;
        unet.eval();
        var c = unet.Config;
        using var session = new InferenceSession(export.ModelFile, new SessionOptions { IntraOpNumThreads = 2 });
        manual_seed(0);
        const int batch = 16;
        double worst = 0, ortS = 0, oursS = 0;
        foreach (var step in new long[] { 0, 250, 500, 999 })
        {
            using var scope = NewDisposeScope();
            var x = randn(batch, c.InChannels, c.ImageSize, c.ImageSize);
            var t = full([batch], step, int64);
            var y = arange(batch, dtype: int64) % (c.NumClasses + 1);          // every class and the null class
            var sw = Stopwatch.StartNew();
            float[] expected;
            using (no_grad()) expected = unet.forward(x, t, y).data<float>().ToArray();
            oursS += sw.Elapsed.TotalSeconds;
            var inputs = new Dictionary<string, OrtValue>
            {
                ["sample"] = OrtValue.CreateTensorValueFromMemory(x.data<float>().ToArray(), x.shape),
                ["timestep"] = OrtValue.CreateTensorValueFromMemory(t.data<long>().ToArray(), [batch]),
                ["class_labels"] = OrtValue.CreateTensorValueFromMemory(y.data<long>().ToArray(), [batch]),
            };
            sw.Restart();
            using var run = new RunOptions();
            using var outputs = session.Run(run, inputs, ["noise_pred"]);
            ortS += sw.Elapsed.TotalSeconds;
            foreach (var v in inputs.Values) v.Dispose();
            worst = Math.Max(worst, expected.Zip(outputs[0].GetTensorDataAsSpan<float>().ToArray(), (a, b) => Math.Abs(a - b)).Max());
        }
        Console.WriteLine();
        Console.WriteLine("| model | model.onnx | nodes | max |Δ noise| (4 timesteps × 16 images, every class + none) | one batch of 16, ONNX Runtime | one batch of 16, GenSharp |");
        Console.WriteLine("|---|---|---|---|---|---|");
        Console.WriteLine($"| {dir} | {new FileInfo(export.ModelFile).Length / 1048576.0:F1} MiB | {export.Nodes} | {worst:G3} | {ortS / 4 * 1000:F0} ms | {oursS / 4 * 1000:F0} ms |");
    }
}
