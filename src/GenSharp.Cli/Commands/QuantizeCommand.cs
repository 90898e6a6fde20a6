using System.CommandLine;
using System.Globalization;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary>
/// <c>gensharp quantize</c>: a language model directory with int8 (q8_0) weights — ~3.6× smaller matrices, decoded by
/// the int8 kernels wherever it is opened — and a model card with the quality cost measured on held-out text.
/// </summary>
static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The language model directory (fp32)", Required = true };
        var output = new Option<string>("--out") { Description = "The new model directory (int8 weights)", Required = true };
        var type = Cli.Opt("--type", "Weight type: int8 (GGML q8_0: blocks of 32 int8 with an fp16 scale)", "int8");
        var evalData = Cli.Opt<string?>("--eval-data", "Held-out text (file or directory) to measure the quality cost on: loss and perplexity before and after, in the model card");
        var batch = Cli.Opt("--batch-size", "Windows per forward pass when measuring", 32);
        var cmd = new Command("quantize", "Quantize a language model's weights to int8 (q8_0), with the quality cost measured") { model, output, type, evalData, batch };
        cmd.SetAction(r => Cli.Run(() =>
        {
            if (r.GetValue(type) != "int8") throw new UserError($"--type '{r.GetValue(type)}' is not supported (int8)");
            var source = r.GetValue(model)!;
            var dir = r.GetValue(output)!;
            if (Path.GetFullPath(source).TrimEnd('/') == Path.GetFullPath(dir).TrimEnd('/')) throw new UserError("--out must be another directory than --model");
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any()) throw new UserError($"--out {dir}: the directory is not empty");
            var text = r.GetValue(evalData) is { } data ? TextCorpus.Read(data, "evaluation data") : null;   // before the model: a typo costs no load
            var pipeline = AutoPipeline.OpenText(source);
            using var lm = pipeline.Model;
            if (lm.Config.Quantization is not null) throw new UserError($"{source}: the model is quantized already ({lm.Config.Quantization.QuantMethod})");
            LmEvalReport? before = null, after = null;
            if (text is not null)
            {
                AnsiConsole.MarkupLine("measuring fp32 …");
                before = LmEvaluator.Evaluate(lm, pipeline.Tokenizer, text, r.GetValue(batch));
            }
            Int8Weights.Apply(lm);
            if (text is not null)
            {
                AnsiConsole.MarkupLine("measuring int8 …");
                after = LmEvaluator.Evaluate(lm, pipeline.Tokenizer, text, r.GetValue(batch));
            }
            // Written beside, then moved into place: a killed run leaves no half directory at --out.
            var staging = dir.TrimEnd('/') + $".tmp-{Environment.ProcessId}";
            if (Directory.Exists(staging)) Directory.Delete(staging, true);
            foreach (var extra in new[] { GenerationDefaults.FileName, ChatTemplate.FileName, "chat_template.jinja", "tokenizer_config.json" })
                if (File.Exists(Path.Combine(source, extra))) { Directory.CreateDirectory(staging); File.Copy(Path.Combine(source, extra), Path.Combine(staging, extra)); }
            long fp32Bytes = new FileInfo(ModelDirectory.WeightFiles(source)[0]).Length;
            ModelDirectory.SaveQuantized(staging, lm, pipeline.Tokenizer);
            long int8Bytes = new FileInfo(Path.Combine(staging, ModelDirectory.WeightsFile)).Length;
            File.WriteAllText(Path.Combine(staging, ModelDirectory.CardFile), Card(source, lm, fp32Bytes, int8Bytes, r.GetValue(evalData), before, after));
            if (Directory.Exists(dir)) Directory.Delete(dir);
            Directory.Move(staging, dir);
            AnsiConsole.MarkupLineInterpolated($"wrote [bold]{dir}[/]: {Int8Weights.Names(lm).Count} matrices in q8_0, weights {fp32Bytes / 1048576.0:F1} → {int8Bytes / 1048576.0:F1} MiB");
            if (before is not null && after is not null)
                AnsiConsole.MarkupLineInterpolated($"quality on {r.GetValue(evalData)}: loss {before.Loss:F5} → {after.Loss:F5} nats/token, perplexity {before.Perplexity:F4} → {after.Perplexity:F4} ({after.Perplexity / before.Perplexity - 1:+0.000%;-0.000%})");
            return 0;
        }));
        return cmd;
    }

    static string Card(string source, LlamaForCausalLM lm, long fp32Bytes, long int8Bytes, string? data, LmEvalReport? before, LmEvalReport? after)
    {
        var c = lm.Config;
        var quality = before is null || after is null
            ? "Not measured (run `gensharp quantize` with `--eval-data FILE`, or `gensharp eval lm --model THIS --data FILE`).\n"
            : string.Create(CultureInfo.InvariantCulture, $"""
                Measured on `{data}` ({before.Tokens:N0} tokens), `gensharp eval lm` windows:

                | weights | loss (nats/token) | perplexity |
                |---|---|---|
                | fp32 (`{source}`) | {before.Loss:F5} | {before.Perplexity:F4} |
                | int8 q8_0 (this model) | {after.Loss:F5} | {after.Perplexity:F4} |

                Cost: {after.Loss - before.Loss:+0.00000;-0.00000} nats/token, perplexity {after.Perplexity / before.Perplexity - 1:+0.000%;-0.000%}.

                """);
        return $"""
            # Int8 (q8_0) model, quantized from `{source}`

            Written by `gensharp quantize`. The {Int8Weights.Names(lm).Count} projection and output matrices are GGML q8_0 blocks:
            32 weights as int8 `q = round(w / d)` with one fp16 scale `d = max|w| / 127` (safetensors I8 and F16 `*.weight_scale`);
            norms and the embedding stay fp32. Every GenSharp command opens it as an int8 model: generation decodes on the
            int8 kernels, prefill and evaluation compute with the same q·d weights. `gensharp export --format gguf --type q8_0`
            writes exactly these blocks for llama.cpp.

            - architecture: {c.ModelType}, {c.NumLayers} layers × {c.HiddenSize}, {lm.ParameterCount:N0} parameters
            - weights file: {fp32Bytes / 1048576.0:F1} MiB (fp32) → {int8Bytes / 1048576.0:F1} MiB

            ## Quality cost

            {quality}
            """;
    }
}
