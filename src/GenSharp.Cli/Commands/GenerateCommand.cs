using System.CommandLine;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp generate</c>: stream a continuation of a prompt.</summary>
static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (config.json + model.safetensors + tokenizer.json)", Required = true };
        var prompt = Cli.Opt("--prompt", "Text to continue", "\n");
        var maxTokens = Cli.Opt("--max-tokens", "Number of tokens to generate", 200);
        var temperature = Cli.Opt("--temperature", "Sampling temperature; 0 = greedy", 0.8);
        var topK = Cli.Opt("--top-k", "Sample only from the k most likely tokens; 0 = all", 0);
        var seed = Cli.Opt<long?>("--seed", "Random seed for reproducible output");
        var device = Cli.DeviceOption();
        var cmd = new Command("generate", "Generate text from a language model, streamed to the terminal")
        {
            model, prompt, maxTokens, temperature, topK, seed, device,
        };
        cmd.SetAction(r => Cli.Run(() =>
        {
            var (lm, tokenizer) = ModelDirectory.Load(r.GetValue(model)!, Cli.ResolveDevice(r.GetValue(device)!));
            var sampling = new SamplingOptions { Temperature = r.GetValue(temperature), TopK = r.GetValue(topK), Seed = r.GetValue(seed) };
            var text = r.GetValue(prompt)!;
            var pieces = new TextGenerationPipeline(lm, tokenizer).Generate(text, r.GetValue(maxTokens), sampling);   // validates first
            Console.Write(text);
            foreach (var piece in pieces)
                Console.Write(piece);
            Console.WriteLine();
            return 0;
        }));
        return cmd;
    }
}
