using System.CommandLine;
using System.Text.Json;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp generate</c>: continue a prompt, streamed to the terminal (or as JSON).</summary>
static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (config.json + model.safetensors + tokenizer.json)", Required = true };
        var prompt = Cli.Opt("--prompt", "Text to continue", "\n");
        var promptFile = Cli.Opt<string?>("--prompt-file", "Read the prompt from a UTF-8 file instead");
        var sampling = new SamplingFlags(defaultMaxTokens: 200);
        var n = Cli.Opt("--n", "Independent samples to generate", 1);
        var beams = Cli.Opt("--beams", "Beam search with this many beams (deterministic); 1 = sampling", 1);
        var lengthPenalty = Cli.Opt("--length-penalty", "Beam score = log p / length^α", 1.0);
        var logprobs = Cli.Opt("--logprobs", "Also print each token's log-probability", false);
        var topLogprobs = Cli.Opt("--top-logprobs", "With --logprobs: this many most likely alternatives per token (0…20)", 0);
        var overflow = Cli.Opt("--context-overflow", "At the context limit: slide (keep the newest half and go on) or stop", "slide");
        var json = Cli.Opt("--json", "Print one JSON object (choices, finish reasons, usage) instead of streaming", false);
        var compute = new ComputeFlags();
        var image = new ImageGenerateFlags();
        var cmd = new Command("generate", "Generate text (language models, streamed) or images (diffusion, GAN and VAE models: PNG grid)")
        {
            model, prompt, promptFile, n, beams, lengthPenalty, logprobs, topLogprobs, overflow, json, compute.Device, compute.Threads,
        };
        foreach (var o in sampling.All.Concat(image.All)) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            if (AutoPipeline.Kind(r.GetValue(model)!) == ModelKind.Image)
                return image.Run(r, r.GetValue(model)!, r.GetValue(n), r.GetValue(sampling.Seed), compute.Resolve(r));
            var text = r.GetValue(promptFile) is { } file ? SamplingFlags.ReadUtf8(file) : SamplingFlags.CheckText(r.GetValue(prompt)!, "--prompt");
            var options = sampling.Read(r) with
            {
                N = r.GetValue(n), Beams = r.GetValue(beams), LengthPenalty = r.GetValue(lengthPenalty),
                Logprobs = r.GetValue(logprobs) || r.GetValue(topLogprobs) > 0, TopLogprobs = r.GetValue(topLogprobs),
            };
            var policy = r.GetValue(overflow) switch
            {
                "slide" => ContextOverflow.Slide,
                "stop" => ContextOverflow.Stop,
                var other => throw new UserError($"--context-overflow '{other}' is not slide or stop"),
            };
            options.Validate();   // before loading the model: a bad flag should not cost a model load
            var pipeline = AutoPipeline.OpenText(r.GetValue(model)!, compute.Resolve(r), policy);
            var cancel = Cli.CancelOnSignals();
            if (r.GetValue(json)) return PrintJson(pipeline.Generate(text, options, cancel));
            if (options.N == 1 && options.Beams == 1)
            {
                var chunks = pipeline.Stream(text, options, cancel);   // validates before the prompt is echoed
                Console.Write(text);
                var logged = new List<TokenLogprob>();
                foreach (var c in chunks)
                {
                    Console.Write(c.Text);
                    if (c.Logprob is not null) logged.Add(c.Logprob);
                }
                Console.WriteLine();
                if (options.Logprobs) PrintLogprobs(logged);
                return 0;
            }
            var result = pipeline.Generate(text, options, cancel);
            foreach (var c in result.Choices)
            {
                AnsiConsole.Write(new Rule($"choice {c.Index}{(c.BeamScore is { } s ? $" · beam score {s:F3}" : "")} · finish {Reason(c.Finish)}").LeftJustified());
                Console.WriteLine(text + c.Text);
                if (c.Logprobs is not null) PrintLogprobs(c.Logprobs);
            }
            return 0;
        }));
        return cmd;
    }

    static string Reason(FinishReason f) => f.ToString().ToLowerInvariant();

    static void PrintLogprobs(IEnumerable<TokenLogprob> tokens)
    {
        var table = new Table().AddColumns("token", "log p", "alternatives");
        foreach (var t in tokens)
            table.AddRow(Markup.Escape(Show(t.Text)), $"{t.Logprob:F3}", Markup.Escape(string.Join("  ", t.Top.Select(a => $"{Show(a.Text)} {a.Logprob:F2}"))));
        AnsiConsole.Write(table);
    }

    static string Show(string token) => JsonSerializer.Serialize(token)[1..^1];   // visible \n, quotes escaped

    static int PrintJson(GenerationResult r)
    {
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            choices = r.Choices.Select(c => new
            {
                index = c.Index, text = c.Text, finish_reason = Reason(c.Finish), tokens = c.Tokens, beam_score = c.BeamScore,
                logprobs = c.Logprobs?.Select(t => new { token = t.Text, id = t.Token, logprob = t.Logprob, top_logprobs = t.Top.Select(a => new { token = a.Text, id = a.Token, logprob = a.Logprob }) }),
            }),
            usage = new { prompt_tokens = r.Usage.PromptTokens, completion_tokens = r.Usage.CompletionTokens, total_tokens = r.Usage.TotalTokens },
        }));
        return 0;
    }
}
