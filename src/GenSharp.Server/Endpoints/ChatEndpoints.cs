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
        var request = RequestReader.Chat(req);
        var route = TextGeneration.Model(request.Model, models);
        var model = route.Worker;
        var messages = request.Messages.Select(m => new ChatMessage(m.Role, m.Content)).ToList();
        ChatPrompt prompt;
        // The library's chat path, with OpenAI's policy: a conversation that does not fit is the caller's to shorten.
        try { prompt = model.Chat.Encode(messages, reserve: 1, ContextPolicy.Reject); }
        catch (ContextLengthExceededException e) { throw TextGeneration.ContextLengthExceeded(e.Message, "messages"); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message, "messages"); }
        var ids = prompt.Tokens;
        var options = model.Chat.WithStops(TextGeneration.Options(request, model, ids.Length, request.Logprobs == true, request.TopLogprobs ?? 0, "messages"));
        bool stream = request.Stream == true;
        bool includeUsage = stream && request.StreamOptions?.IncludeUsage == true;
        var events = TextGeneration.Submit(route, ids, options, cancel);
        string id = TextGeneration.NewId("chatcmpl");
        long created = TextGeneration.Now();
        if (!stream)
        {
            var seqs = await TextGeneration.Collect(events, cancel);
            var answer = new ChatCompletion(id, ChatCompletion.ObjectName, created, route.Name,
                [.. seqs.Select(s => new ChatCompletion.ChatChoice(s.Index, new ChatCompletion.AssistantMessage("assistant", s.Text),
                    s.Logprobs is null ? null : new ChatCompletion.ChatLogprobs([.. s.Logprobs.Select(TokenLogprob.From)]), TextGeneration.FinishReason(s.Finish)))],
                TokenUsage.Of(ids.Length, seqs.Sum(s => s.Tokens.Count)));
            await ctx.Response.WriteAsJsonAsync(answer, OpenAiJson.Default.ChatCompletion, cancellationToken: cancel);
            return;
        }
        var sse = new EventStream(ctx.Response, OpenAiJson.Default.Options);
        ChatCompletionChunk Chunk(int index, ChatCompletionChunk.Delta delta, Sampling.TokenLogprob? logprob, string? finish) =>
            new(id, ChatCompletionChunk.ObjectName, created, route.Name,
                [new(index, delta, logprob is null ? null : new ChatCompletion.ChatLogprobs([TokenLogprob.From(logprob)]), finish)]);
        void Send(ChatCompletionChunk chunk) => sse.Write(chunk, OpenAiJson.Default.ChatCompletionChunk);
        for (int i = 0; i < options.N; i++) Send(Chunk(i, new("assistant", ""), null, null));
        await sse.FlushAsync(cancel);
        int completion = 0;
        await sse.Relay(events, e =>
        {
            if (e.Token >= 0) completion++;
            if (e.Text.Length > 0 || e.Logprob is not null) Send(Chunk(e.Sequence.Index, new(Content: e.Text), e.Logprob, null));
            if (e.Finish is { } f) Send(Chunk(e.Sequence.Index, new(), null, TextGeneration.FinishReason(f)));
        }, cancel);
        if (includeUsage) Send(new(id, ChatCompletionChunk.ObjectName, created, route.Name, [], TokenUsage.Of(ids.Length, completion)));
        await sse.DoneAsync(cancel);
    }
}
