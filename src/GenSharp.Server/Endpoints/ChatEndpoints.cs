using System.Text.Json;
using GenSharp.Pipelines;
using GenSharp.Server.Api;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Server.Hosting;
using GenSharp.Tokenizers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GenSharp.Server.Endpoints;

/// <summary><c>POST /v1/chat/completions</c>: messages through the model's chat template, streamed (SSE) or whole.</summary>
static class ChatEndpoints
{
    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/chat/completions", Handle);

    static async Task Handle(HttpContext ctx, ModelRegistry models)
    {
        var cancel = ctx.RequestAborted;
        using var req = await JsonRequest.ReadAsync(ctx.Request, cancel);
        var model = TextGeneration.Model(req, models);
        var messages = Messages(req);
        ChatPrompt prompt;
        // The library's chat path, with OpenAI's policy: a conversation that does not fit is the caller's to shorten.
        try { prompt = model.Chat.Encode(messages, reserve: 1, ContextPolicy.Reject); }
        catch (ContextLengthExceededException e) { throw TextGeneration.ContextLengthExceeded(e.Message, "messages"); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message, "messages"); }
        var ids = prompt.Tokens;
        var options = model.Chat.WithStops(TextGeneration.Options(req, model, ids.Length, chat: true));
        bool stream = req.Bool("stream");
        bool includeUsage = stream && TextGeneration.IncludeUsage(req);
        var events = TextGeneration.Submit(model, ids, options, cancel);
        string id = TextGeneration.NewId("chatcmpl");
        long created = TextGeneration.Now();
        if (!stream)
        {
            var seqs = await TextGeneration.Collect(events, cancel);
            var answer = new ChatCompletion(id, ChatCompletion.ObjectName, created, model.Name,
                [.. seqs.Select(s => new ChatCompletion.ChatChoice(s.Index, new ChatCompletion.AssistantMessage("assistant", s.Text),
                    s.Logprobs is null ? null : new ChatCompletion.ChatLogprobs([.. s.Logprobs.Select(TokenLogprob.From)]), TextGeneration.FinishReason(s.Finish)))],
                TokenUsage.Of(ids.Length, seqs.Sum(s => s.Tokens.Count)));
            await ctx.Response.WriteAsJsonAsync(answer, OpenAiJson.Default.ChatCompletion, cancellationToken: cancel);
            return;
        }
        TextGeneration.BeginEventStream(ctx.Response);
        ChatCompletionChunk Chunk(int index, ChatCompletionChunk.Delta delta, Sampling.TokenLogprob? logprob, string? finish) =>
            new(id, ChatCompletionChunk.ObjectName, created, model.Name,
                [new(index, delta, logprob is null ? null : new ChatCompletion.ChatLogprobs([TokenLogprob.From(logprob)]), finish)]);
        Task Send(ChatCompletionChunk chunk) => TextGeneration.SendEvent(ctx.Response, chunk, OpenAiJson.Default.ChatCompletionChunk, cancel);
        for (int i = 0; i < options.N; i++) await Send(Chunk(i, new("assistant", ""), null, null));
        int completion = 0;
        await foreach (var e in events.ReadAllAsync(cancel))
        {
            if (e.Token >= 0) completion++;
            if (e.Text.Length > 0 || e.Logprob is not null) await Send(Chunk(e.Sequence.Index, new(Content: e.Text), e.Logprob, null));
            if (e.Finish is { } f) await Send(Chunk(e.Sequence.Index, new(), null, TextGeneration.FinishReason(f)));
        }
        if (includeUsage) await Send(new(id, ChatCompletionChunk.ObjectName, created, model.Name, [], TokenUsage.Of(ids.Length, completion)));
        await TextGeneration.SendDone(ctx.Response, cancel);
    }

    /// <summary>OpenAI messages: role system/developer/user/assistant, content a string or text parts.</summary>
    static List<ChatMessage> Messages(JsonRequest req)
    {
        if (!req.Has("messages")) throw ApiException.BadRequest("'messages' is required", "messages");
        var arr = req.Root.GetProperty("messages");
        if (arr.ValueKind != JsonValueKind.Array || arr.GetArrayLength() == 0)
            throw ApiException.BadRequest("'messages' must be a non-empty array", "messages");
        if (arr.GetArrayLength() > 1000) throw ApiException.BadRequest("'messages' may hold at most 1000 messages", "messages");
        var list = new List<ChatMessage>();
        int i = 0;
        foreach (var m in arr.EnumerateArray())
        {
            string at = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{at}' must be an object with role and content", at);
            var role = m.TryGetProperty("role", out var r) ? JsonRequest.String(r, $"{at}.role") : throw ApiException.BadRequest($"'{at}.role' is required", $"{at}.role");
            role = role == "developer" ? "system" : role;
            if (!ChatTemplate.KnownRoles.Contains(role))
                throw ApiException.BadRequest($"'{at}.role' must be system, developer, user or assistant (got '{role}')", $"{at}.role");
            if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null)
                throw ApiException.BadRequest($"'{at}.content' is required", $"{at}.content");
            list.Add(new ChatMessage(role, Content(c, $"{at}.content")));
        }
        if (list[^1].Role != "user") throw ApiException.BadRequest($"the last message must be from the user (got '{list[^1].Role}')", "messages");
        return list;
    }

    static string Content(JsonElement c, string at)
    {
        if (c.ValueKind == JsonValueKind.String) return JsonRequest.String(c, at);
        if (c.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"'{at}' must be a string or an array of text parts", at);
        var parts = new List<string>();
        foreach (var p in c.EnumerateArray())
        {
            if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest($"'{at}' parts must be objects with a type", at);
            var type = JsonRequest.String(t, $"{at}.type");
            if (type != "text") throw ApiException.BadRequest($"'{at}': only text parts are supported (got '{type}')", at);
            parts.Add(p.TryGetProperty("text", out var x) ? JsonRequest.String(x, $"{at}.text") : throw ApiException.BadRequest($"'{at}' text part has no text", at));
        }
        return string.Concat(parts);
    }
}
