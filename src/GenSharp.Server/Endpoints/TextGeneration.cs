using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using GenSharp.Sampling;
using GenSharp.Server.Api;
using GenSharp.Server.Hosting;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server.Endpoints;

/// <summary>What chat and text completions share: sampling parameters, limits, running a request, SSE.</summary>
static class TextGeneration
{
    public const int MaxStop = 4;   // OpenAI's limit

    public static LanguageModelWorker Model(JsonRequest req, ModelRegistry models)
    {
        var name = req.RequiredString("model");
        return models.FindLanguageModel(name)
            ?? throw ApiException.NotFound($"the model '{name}' does not exist or is not a language model; GET /v1/models lists them", "model");
    }

    /// <summary>OpenAI's sampling fields (and top_k, min_p, repetition_penalty) checked with vLLM's bounds.</summary>
    public static GenerationOptions Options(JsonRequest req, LanguageModelWorker model, int promptTokens, bool chat)
    {
        int room = model.Context - promptTokens;
        if (room < 1) throw ContextLengthExceeded($"the prompt is {promptTokens} tokens; this model's context is {model.Context} tokens", chat ? "messages" : "prompt");
        int? maxTokens = req.Integer("max_completion_tokens", 1, int.MaxValue) ?? req.Integer("max_tokens", 1, int.MaxValue);
        if (maxTokens > room)
            throw ContextLengthExceeded($"max_tokens is {maxTokens} but the prompt ({promptTokens} tokens) leaves room for {room} in this model's context of {model.Context}", "max_tokens");
        var logitBias = LogitBias(req, model.Model.Config.VocabSize);
        int topLogprobs = chat ? req.Integer("top_logprobs", 0, GenerationOptions.MaxTopLogprobs) ?? 0 : req.Integer("logprobs", 0, 5) ?? 0;
        bool logprobs = chat ? req.Bool("logprobs") : req.Has("logprobs");
        if (chat && topLogprobs > 0 && !logprobs) throw ApiException.BadRequest("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        var stop = req.Strings("stop", MaxStop);
        if (stop?.Any(s => s.Length == 0) == true) throw ApiException.BadRequest("a stop sequence is empty", "stop");
        var options = new GenerationOptions
        {
            MaxTokens = maxTokens ?? room,
            Temperature = req.Number("temperature", 0, 2) ?? 1,
            TopP = req.Number("top_p", 0, 1) is { } p ? (p > 0 ? p : throw ApiException.BadRequest("'top_p' must be greater than 0 and at most 1", "top_p")) : 1,
            TopK = req.Integer("top_k", 0, model.Model.Config.VocabSize) ?? 0,
            MinP = req.Number("min_p", 0, 1) ?? 0,
            RepetitionPenalty = req.Number("repetition_penalty", 0.01, 10) ?? 1,
            PresencePenalty = req.Number("presence_penalty", -2, 2) ?? 0,
            FrequencyPenalty = req.Number("frequency_penalty", -2, 2) ?? 0,
            N = req.Integer("n", 1, model.Capacity) ?? 1,
            Seed = req.Long("seed"),
            Stop = stop,
            LogitBias = logitBias,
            Logprobs = logprobs,
            TopLogprobs = topLogprobs,
        };
        try { return options.Validate(model.Model.Config.VocabSize); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message); }
    }

    static Dictionary<int, float>? LogitBias(JsonRequest req, int vocab)
    {
        if (!req.Has("logit_bias")) return null;
        var e = req.Root.GetProperty("logit_bias");
        if (e.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'logit_bias' must be an object of token id → bias", "logit_bias");
        var bias = new Dictionary<int, float>();
        foreach (var p in e.EnumerateObject())
        {
            if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id >= vocab)
                throw ApiException.BadRequest($"logit_bias key '{p.Name}' is not a token id in 0…{vocab - 1}", "logit_bias");
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out double b) || !double.IsFinite(b) || Math.Abs(b) > 100)
                throw ApiException.BadRequest($"logit_bias for token {id} must be a number in [-100, 100]", "logit_bias");
            bias[id] = (float)b;
            if (bias.Count > 300) throw ApiException.BadRequest("'logit_bias' may name at most 300 tokens", "logit_bias");
        }
        return bias;
    }

    public static ChannelReader<GenerationEvent> Submit(LanguageModelWorker model, int[] prompt, GenerationOptions options, CancellationToken cancel)
    {
        try { return model.Submit(prompt, options, cancel); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message); }
    }

    /// <summary>Waits for every sequence of a non-streamed request.</summary>
    public static async Task<IReadOnlyList<GeneratedSequence>> Collect(ChannelReader<GenerationEvent> events, CancellationToken cancel)
    {
        var seen = new SortedDictionary<int, GeneratedSequence>();
        await foreach (var e in events.ReadAllAsync(cancel)) seen[e.Sequence.Index] = e.Sequence;
        return [.. seen.Values];
    }

    public static string FinishReason(FinishReason? f) => f switch
    {
        Sampling.FinishReason.Length => "length",
        Sampling.FinishReason.Cancelled => "cancelled",
        _ => "stop",
    };

    /// <summary>OpenAI's 400 for a prompt (plus max_tokens) longer than the context.</summary>
    public static ApiException ContextLengthExceeded(string message, string param) => new(400, message, param, code: "context_length_exceeded");

    /// <summary><c>stream_options.include_usage</c>: a last chunk with the usage and no choices.</summary>
    public static bool IncludeUsage(JsonRequest req)
    {
        if (!req.Has("stream_options")) return false;
        var so = req.Root.GetProperty("stream_options");
        if (so.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'stream_options' must be an object", "stream_options");
        if (!so.TryGetProperty("include_usage", out var iu) || iu.ValueKind == JsonValueKind.Null) return false;
        return iu.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.BadRequest("'stream_options.include_usage' must be true or false", "stream_options.include_usage"),
        };
    }

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static void BeginEventStream(HttpResponse response)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    public static async Task SendEvent<T>(HttpResponse response, T payload, JsonTypeInfo<T> type, CancellationToken cancel)
    {
        await response.WriteAsync("data: " + JsonSerializer.Serialize(payload, type) + "\n\n", Encoding.UTF8, cancel);
        await response.Body.FlushAsync(cancel);
    }

    public static async Task SendDone(HttpResponse response, CancellationToken cancel)
    {
        await response.WriteAsync("data: [DONE]\n\n", cancel);
        await response.Body.FlushAsync(cancel);
    }
}
