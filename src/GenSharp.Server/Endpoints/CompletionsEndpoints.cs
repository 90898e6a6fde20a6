using GenSharp.Sampling;
using GenSharp.Server.Api;
using GenSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GenSharp.Server.Endpoints;

/// <summary><c>POST /v1/completions</c>: raw text continuation, one or several prompts, streamed (SSE) or whole.</summary>
static class CompletionsEndpoints
{
    const int MaxPrompts = 16;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/completions", Handle);

    static async Task Handle(HttpContext ctx, ModelRegistry models)
    {
        var cancel = ctx.RequestAborted;
        using var req = await JsonRequest.ReadAsync(ctx.Request, cancel);
        var model = TextGeneration.Model(req, models);
        var prompts = req.Strings("prompt", MaxPrompts) ?? throw ApiException.BadRequest("'prompt' is required", "prompt");
        if (prompts.Count == 0) throw ApiException.BadRequest("'prompt' must not be an empty array", "prompt");
        var encoded = prompts.Select((p, i) =>
        {
            try { return GenerationEngine.EncodePrompt(model.Tokenizer, p, int.MaxValue); }
            catch (ArgumentException e) { throw ApiException.BadRequest(prompts.Count > 1 ? $"prompt[{i}]: {e.Message}" : e.Message, "prompt"); }
        }).ToArray();
        var options = encoded.Select(ids => TextGeneration.Options(req, model, ids.Length, chat: false)).ToArray();
        if (options[0].N * prompts.Count > model.Capacity)
            throw ApiException.BadRequest($"{prompts.Count} prompts × n = {options[0].N} exceeds this model's {model.Capacity} sequence slots", "n");
        bool stream = req.Bool("stream");
        bool echo = req.Bool("echo");
        string id = TextGeneration.NewId("cmpl");
        long created = TextGeneration.Now();
        int n = options[0].N;
        var streams = encoded.Select((ids, i) => TextGeneration.Submit(model, ids, options[i], cancel)).ToArray();
        if (!stream)
        {
            var choices = new List<object>();
            int completion = 0;
            for (int p = 0; p < prompts.Count; p++)
                foreach (var s in await TextGeneration.Collect(streams[p], cancel))
                {
                    completion += s.Tokens.Count;
                    choices.Add(new
                    {
                        text = (echo ? prompts[p] : "") + s.Text, index = p * n + s.Index,
                        logprobs = s.Logprobs is null ? null : Logprobs(s.Logprobs),
                        finish_reason = TextGeneration.FinishReason(s.Finish),
                    });
                }
            await ctx.Response.WriteAsJsonAsync(new
            {
                id, @object = "text_completion", created, model = model.Name, choices,
                usage = TextGeneration.Usage(encoded.Sum(e => e.Length), completion),
            }, cancel);
            return;
        }
        TextGeneration.BeginEventStream(ctx.Response);
        object Chunk(int index, string text, object? logprobs, string? finish) => new
        {
            id, @object = "text_completion", created, model = model.Name,
            choices = new[] { new { text, index, logprobs, finish_reason = finish } },
        };
        for (int p = 0; p < prompts.Count; p++)
        {
            if (echo) for (int i = 0; i < n; i++) await TextGeneration.SendEvent(ctx.Response, Chunk(p * n + i, prompts[p], null, null), cancel);
            await foreach (var e in streams[p].ReadAllAsync(cancel))   // later prompts keep decoding meanwhile; their events wait in their channels
            {
                if (e.Text.Length > 0 || e.Logprob is not null)
                    await TextGeneration.SendEvent(ctx.Response, Chunk(p * n + e.Sequence.Index, e.Text, e.Logprob is { } lp ? Logprobs([lp]) : null, null), cancel);
                if (e.Finish is { } f) await TextGeneration.SendEvent(ctx.Response, Chunk(p * n + e.Sequence.Index, "", null, TextGeneration.FinishReason(f)), cancel);
            }
        }
        await TextGeneration.SendDone(ctx.Response, cancel);
    }

    // The legacy completions logprobs shape: parallel arrays.
    static object Logprobs(IReadOnlyList<TokenLogprob> lps)
    {
        var offsets = new List<int>();
        int at = 0;
        foreach (var lp in lps) { offsets.Add(at); at += lp.Text.Length; }
        return new
        {
            tokens = lps.Select(l => l.Text).ToArray(),
            token_logprobs = lps.Select(l => l.Logprob).ToArray(),
            top_logprobs = lps.Select(l => l.Top.GroupBy(t => t.Text).ToDictionary(g => g.Key, g => g.First().Logprob)).ToArray(),
            text_offset = offsets,
        };
    }
}
