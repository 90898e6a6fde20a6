using GenSharp.Data;
using System.CommandLine;
using System.Text.Json;
using GenSharp.Pipelines;
using GenSharp.Evaluation;
using GenSharp.Models;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp eval lm</c>: loss, perplexity and bits per token/character on a text.</summary>
static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory", Required = true };
        var data = new Option<string>("--data") { Description = "Text file (or directory of .txt/.md files) to score", Required = true };
        var json = Cli.Opt("--json", "Print the result as JSON", false);
        var batch = Cli.Opt("--batch-size", "Windows per forward pass", 32);
        var compute = new ComputeFlags();
        var adapter = Cli.Opt<string?>("--adapter", "A LoRA adapter directory (PEFT layout) applied to the model");
        var quantize = Cli.Opt("--quantize", "Evaluate the model with these weights: none (fp32) or int8 (q8_0, as generate/chat/serve --quantize int8 decode)", "none");
        var lm = new Command("lm", "Evaluate a language model's likelihood on a text") { model, data, json, batch, adapter, quantize, compute.Device, compute.Threads };
        lm.SetAction(r => Cli.Run(() =>
        {
            int windows = r.GetValue(batch);
            if (windows is < 1 or > 4096) throw new UserError($"--batch-size must be in 1…4096 (got {windows})");
            var text = TextCorpus.Read(r.GetValue(data)!, "evaluation data");   // before the model: a typo costs no model load
            bool int8 = DecodeFlags.Int8(r.GetValue(quantize)!);
            var lmPipeline = AutoPipeline.OpenText(r.GetValue(model)!, compute.Resolve(r), adapter: r.GetValue(adapter));
            if (int8)
            {
                if (lmPipeline.Model.HasAttachedLora) lmPipeline.Model.MergeLora();   // the adapter is part of the weights quantized
                Int8Weights.Apply(lmPipeline.Model);
            }
            var report = LmEvaluator.Evaluate(lmPipeline.Model, lmPipeline.Tokenizer, text, windows);
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    tokens = report.Tokens, characters = report.Characters, loss = report.Loss, perplexity = report.Perplexity,
                    bits_per_token = report.BitsPerToken, bits_per_character = report.BitsPerCharacter,
                }));
                return 0;
            }
            var table = new Table().AddColumns("metric", "value");
            table.AddRow("tokens scored", $"{report.Tokens:N0}");
            table.AddRow("loss (nats/token)", $"{report.Loss:F4}");
            table.AddRow("perplexity", $"{report.Perplexity:F3}");
            table.AddRow("bits/token", $"{report.BitsPerToken:F4}");
            table.AddRow("bits/character", $"{report.BitsPerCharacter:F4}");
            AnsiConsole.Write(table);
            return 0;
        }));
        return new Command("eval", "Evaluate models") { lm, ImageCommands.EvalImage() };
    }
}
