using GenSharp.Sampling;
using GenSharp.Server.Api;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GenSharp.Server.Endpoints;

/// <summary><c>POST /v1/completions</c>: raw text continuation, one or several prompts, streamed (SSE) or whole.</summary>
static class CompletionsEndpoints
{
    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/completions", Handle);

    static async Task Handle(HttpContext ctx, ModelRegistry models)
    {
        var cancel = ctx.RequestAborted;
        using var req = await JsonRequest.ReadAsync(ctx.Request, cancel);
        var request = RequestReader.Completion(req);
        var route = TextGeneration.Model(request.Model, models);
        var model = route.Worker;
        var prompts = request.Prompt;
        var encoded = prompts.Select((p, i) =>
        {
            try { return GenerationEngine.EncodePrompt(model.Tokenizer, p, int.MaxValue); }
            catch (ArgumentException e) { throw ApiException.BadRequest(prompts.Length > 1 ? $"prompt[{i}]: {e.Message}" : e.Message, "prompt"); }
        }).ToArray();
        var options = encoded.Select(ids => TextGeneration.Options(request, model, ids.Length, request.Logprobs is not null, request.Logprobs ?? 0, "prompt")).ToArray();
        var refine = request.Refines ? BestOfCompletions.Read(request, models, model) : null;
        if (refine is not null) options = [.. options.Select(o => BestOfCompletions.Sampling(refine, o))];
        string perPrompt = refine is null ? "n" : "best_of";
        if (options[0].N * prompts.Length > model.Capacity)
            throw ApiException.BadRequest($"{prompts.Length} prompts × {perPrompt} = {options[0].N} exceeds this model's {model.Capacity} sequence slots", perPrompt);
        bool stream = request.Stream == true;
        bool includeUsage = stream && request.StreamOptions?.IncludeUsage == true;
        bool echo = request.Echo == true;
        string id = TextGeneration.NewId("cmpl");
        long created = TextGeneration.Now();
        int n = request.N ?? 1;
        var streams = encoded.Select((ids, i) => TextGeneration.Submit(route, ids, options[i], cancel)).ToArray();
        int promptTokens = encoded.Sum(e => e.Length), completion = 0;
        if (refine is not null)
        {
            var chosen = new List<TextCompletion.TextChoice>();
            var rejected = new List<TextCompletion.Rejection>();
            for (int p = 0; p < prompts.Length; p++)
            {
                var candidates = await TextGeneration.Collect(streams[p], cancel);
                completion += candidates.Sum(s => s.Tokens.Count);   // every candidate is generated, so every candidate counts
                var (c, r) = await BestOfCompletions.Answer(refine, candidates, p, prompts[p], n, echo, request.Logprobs is not null, cancel);
                chosen.AddRange(c);
                rejected.AddRange(r);
            }
            var best = new TextCompletion(id, TextCompletion.ObjectName, created, route.Name, [.. chosen], TokenUsage.Of(promptTokens, completion),
                refine.Scorer.Name, [.. rejected]);
            await ctx.Response.WriteAsJsonAsync(best, OpenAiJson.Default.TextCompletion, cancellationToken: cancel);
            return;
        }
        if (!stream)
        {
            var choices = new List<TextCompletion.TextChoice>();
            for (int p = 0; p < prompts.Length; p++)
                foreach (var s in await TextGeneration.Collect(streams[p], cancel))
                {
                    completion += s.Tokens.Count;
                    choices.Add(new((echo ? prompts[p] : "") + s.Text, p * n + s.Index,
                        s.Logprobs is null ? null : TextCompletion.LegacyLogprobs.From(s.Logprobs), TextGeneration.FinishReason(s.Finish)));
                }
            var answer = new TextCompletion(id, TextCompletion.ObjectName, created, route.Name, [.. choices], TokenUsage.Of(promptTokens, completion));
            await ctx.Response.WriteAsJsonAsync(answer, OpenAiJson.Default.TextCompletion, cancellationToken: cancel);
            return;
        }
        var sse = new EventStream(ctx.Response, OpenAiJson.Default.Options);
        void Send(int index, string text, TextCompletion.LegacyLogprobs? logprobs, string? finish) =>
            sse.Write(new TextCompletion(id, TextCompletion.ObjectName, created, route.Name, [new(text, index, logprobs, finish)]), OpenAiJson.Default.TextCompletion);
        for (int p = 0; p < prompts.Length; p++)
        {
            int first = p * n;
            if (echo) for (int i = 0; i < n; i++) Send(first + i, prompts[p], null, null);
            await sse.Relay(streams[p], e =>   // later prompts keep decoding meanwhile; their events wait in their channels
            {
                if (e.Token >= 0) completion++;
                if (e.Text.Length > 0 || e.Logprob is not null)
                    Send(first + e.Sequence.Index, e.Text, e.Logprob is { } lp ? TextCompletion.LegacyLogprobs.From([lp]) : null, null);
                if (e.Finish is { } f) Send(first + e.Sequence.Index, "", null, TextGeneration.FinishReason(f));
            }, cancel);
        }
        if (includeUsage)
            sse.Write(new TextCompletion(id, TextCompletion.ObjectName, created, route.Name, [], TokenUsage.Of(promptTokens, completion)), OpenAiJson.Default.TextCompletion);
        await sse.DoneAsync(cancel);
    }
}
