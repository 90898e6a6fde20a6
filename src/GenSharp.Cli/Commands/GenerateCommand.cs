using System.CommandLine;
using System.Text.Json;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Refinement;
using GenSharp.Sampling;
using OpenAiJson = GenSharp.Server.Api.OpenAi.OpenAiJson;
using TextCompletion = GenSharp.Server.Api.OpenAi.TextCompletion;
using TokenUsage = GenSharp.Server.Api.OpenAi.TokenUsage;
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
        var adapter = Cli.Opt<string?>("--adapter", "A LoRA adapter directory (PEFT layout) applied to the model");
        var image = new ImageGenerateFlags();
        var bestOf = new BestOfFlags();
        var decode = new DecodeFlags();
        var cmd = new Command("generate", "Generate text (language models, streamed) or images (diffusion, GAN and VAE models: PNG grid)")
        {
            model, prompt, promptFile, n, beams, lengthPenalty, logprobs, topLogprobs, overflow, json, adapter, compute.Device, compute.Threads,
        };
        foreach (var o in sampling.All.Concat(image.All).Concat(bestOf.All).Concat(decode.All)) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            if (AutoPipeline.Kind(r.GetValue(model)!) == ModelKind.Image)
                return image.Run(r, r.GetValue(model)!, r.GetValue(n), r.GetValue(sampling.Seed), compute.Resolve(r));
            var text = r.GetValue(promptFile) is { } file ? SamplingFlags.ReadUtf8(file) : SamplingFlags.CheckText(r.GetValue(prompt)!, "--prompt");
            var options = sampling.Read(r, r.GetValue(model)) with
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
            var refine = bestOf.Requested(r);
            var (candidates, filters) = refine ? (bestOf.BestOf(r), bestOf.Filters(r)) : (1, []);
            if (refine) BestOfN.Sampling(options, candidates, MeanLogProbScorer.Instance);
            var device = compute.Resolve(r);
            var kernels = decode.Read(r);
            var pipeline = AutoPipeline.OpenText(r.GetValue(model)!, device, policy, r.GetValue(adapter), kernels);
            var cancel = Cli.CancelOnSignals();
            var name = Path.GetFileName(Path.GetFullPath(r.GetValue(model)!).TrimEnd('/'));
            if (refine)
            {
                var scorer = bestOf.Scorer(r, pipeline.Tokenizer, device);
                try { return PrintBest(BestOfN.Generate(pipeline, text, options, candidates, scorer, filters, cancel), text, options.Logprobs, r.GetValue(json) ? name : null); }
                finally { (scorer as RewardScorer)?.Reward.Dispose(); }
            }
            if (r.GetValue(json)) return PrintJson(pipeline.Generate(text, options, cancel), name);
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

    // OpenAI's finish reasons: a stop sequence or the end-of-sequence token is "stop".
    static string Reason(FinishReason f) => f == FinishReason.Length ? "length" : f == FinishReason.Cancelled ? "cancelled" : "stop";

    static void PrintLogprobs(IEnumerable<TokenLogprob> tokens)
    {
        var table = new Table().AddColumns("token", "log p", "alternatives");
        foreach (var t in tokens)
            table.AddRow(Markup.Escape(Show(t.Text)), $"{t.Logprob:F3}", Markup.Escape(string.Join("  ", t.Top.Select(a => $"{Show(a.Text)} {a.Logprob:F2}"))));
        AnsiConsole.Write(table);
    }

    static string Show(string token) => JsonSerializer.Serialize(token)[1..^1];   // visible \n, quotes escaped

    // The server's text_completion record, plus the token ids and beam scores (GenSharp's fields, left out when absent).
    static int PrintJson(GenerationResult r, string model)
    {
        var completion = new TextCompletion($"cmpl-{Guid.NewGuid():N}", TextCompletion.ObjectName, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model,
            [.. r.Choices.Select(c => new TextCompletion.TextChoice(c.Text, c.Index, c.Logprobs is null ? null : TextCompletion.LegacyLogprobs.From(c.Logprobs),
                Reason(c.Finish), [.. c.Tokens], c.BeamScore))],
            TokenUsage.Of(r.Usage.PromptTokens, r.Usage.CompletionTokens));
        Console.WriteLine(JsonSerializer.Serialize(completion, OpenAiJson.Default.TextCompletion));
        return 0;
    }

    // Best-of-n: the kept choices best first with their scores, then every refused candidate and why. No candidate
    // left is an error (exit 1): a script must not take an empty answer for a good one.
    static int PrintBest(BestOfResult best, string prompt, bool logprobs, string? jsonModel)
    {
        if (jsonModel is not null)
        {
            var completion = new TextCompletion($"cmpl-{Guid.NewGuid():N}", TextCompletion.ObjectName, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), jsonModel,
                [.. best.Chosen.Select((c, i) => new TextCompletion.TextChoice(c.Choice.Text, i,
                    logprobs && c.Choice.Logprobs is { } lps ? TextCompletion.LegacyLogprobs.From(lps) : null, Reason(c.Choice.Finish), [.. c.Choice.Tokens], Score: c.Score))],
                TokenUsage.Of(best.Usage.PromptTokens, best.Usage.CompletionTokens), best.ScoredBy,
                [.. best.Rejected.Select(c => new TextCompletion.Rejection(0, c.Choice.Text, c.Rejection!))]);
            Console.WriteLine(JsonSerializer.Serialize(completion, OpenAiJson.Default.TextCompletion));
        }
        else
        {
            for (int i = 0; i < best.Chosen.Count; i++)
            {
                var c = best.Chosen[i];
                AnsiConsole.Write(new Rule($"choice {i} · {best.ScoredBy} {c.Score:F3} · candidate {c.Choice.Index + 1} of {best.Candidates.Count} · finish {Reason(c.Choice.Finish)}").LeftJustified());
                Console.WriteLine(prompt + c.Choice.Text);
                if (logprobs && c.Choice.Logprobs is not null) PrintLogprobs(c.Choice.Logprobs);
            }
            foreach (var c in best.Rejected)
                Console.Error.WriteLine($"rejected candidate {c.Choice.Index + 1}: {c.Rejection}");
        }
        if (best.Chosen.Count > 0) return 0;
        Console.Error.WriteLine($"error: all {best.Candidates.Count} candidates were rejected by the filters");
        return 1;
    }
}
