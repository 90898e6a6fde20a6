using System.Threading.Channels;
using GenSharp.Sampling;
using GenSharp.Server.Api;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Server.Hosting;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server.Endpoints;

/// <summary>What chat and text completions share: sampling parameters, limits, running a request (their SSE: <see cref="EventStream"/>).</summary>
static class TextGeneration
{
    public static LanguageModelRoute Model(string name, ModelRegistry models) =>
        models.FindRoute(name)
        ?? throw ApiException.NotFound($"the model '{name}' does not exist or is not a language model; GET /v1/models lists them", "model");

    /// <summary>A typed request as generation options, checked against this model: context, vocabulary, sequence slots.</summary>
    public static GenerationOptions Options(SamplingRequest r, LanguageModelWorker model, int promptTokens, bool logprobs, int topLogprobs, string promptField)
    {
        int room = model.Context - promptTokens, vocab = model.Model.Config.VocabSize;
        if (room < 1) throw ContextLengthExceeded($"the prompt is {promptTokens} tokens; this model's context is {model.Context} tokens", promptField);
        int? maxTokens = r.MaxCompletionTokens ?? r.MaxTokens;
        if (maxTokens > room)
            throw ContextLengthExceeded($"max_tokens is {maxTokens} but the prompt ({promptTokens} tokens) leaves room for {room} in this model's context of {model.Context}", "max_tokens");
        if (r.TopK > vocab) throw ApiException.BadRequest($"'top_k' must be between 0 and {vocab} (got {r.TopK})", "top_k");
        if (r.N > model.Capacity) throw ApiException.BadRequest($"'n' must be between 1 and {model.Capacity} (got {r.N})", "n");
        Dictionary<int, float>? bias = null;
        if (r.LogitBias is { } lb)
        {
            bias = [];
            foreach (var (key, value) in lb)
                bias[int.TryParse(key, out int id) && id < vocab ? id : throw ApiException.BadRequest($"logit_bias key '{key}' is not a token id in 0…{vocab - 1}", "logit_bias")] = (float)value;
        }
        var options = new GenerationOptions
        {
            MaxTokens = maxTokens ?? room,
            Temperature = r.Temperature ?? 1,
            TopP = r.TopP ?? 1,
            TopK = r.TopK ?? 0,
            MinP = r.MinP ?? 0,
            RepetitionPenalty = r.RepetitionPenalty ?? 1,
            PresencePenalty = r.PresencePenalty ?? 0,
            FrequencyPenalty = r.FrequencyPenalty ?? 0,
            N = r.N ?? 1,
            Seed = r.Seed,
            Stop = r.Stop,
            LogitBias = bias,
            Logprobs = logprobs,
            TopLogprobs = topLogprobs,
        };
        // What the request leaves unset comes from the checkpoint's generation_config.json, as in generate and chat.
        options = model.Defaults.ApplyTo(options, name => name switch
        {
            nameof(GenerationOptions.MaxTokens) => maxTokens is not null,
            nameof(GenerationOptions.Temperature) => r.Temperature is not null,
            nameof(GenerationOptions.TopP) => r.TopP is not null,
            nameof(GenerationOptions.TopK) => r.TopK is not null,
            nameof(GenerationOptions.MinP) => r.MinP is not null,
            nameof(GenerationOptions.RepetitionPenalty) => r.RepetitionPenalty is not null,
            _ => false,   // typical_p: no request field
        });
        if (maxTokens is null) options = options with { MaxTokens = Math.Min(options.MaxTokens, room) };
        try { return options.Validate(vocab); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message); }
    }

    public static ChannelReader<GenerationEvent> Submit(LanguageModelRoute route, int[] prompt, GenerationOptions options, CancellationToken cancel)
    {
        try { return route.Worker.Submit(prompt, options, cancel, route.Adapter); }
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

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
