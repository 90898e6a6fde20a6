namespace GenSharp.Server.Api.OpenAi;

/// <summary>
/// The fields chat and text completion requests share: the model, OpenAI's sampling parameters (and vLLM's top_k, min_p,
/// repetition_penalty), streaming. Null means "not sent". The server fills it from the body with field-named errors
/// (<c>Endpoints/RequestReader</c>); clients and tests serialize it with <see cref="OpenAiRequestJson"/>.
/// </summary>
public abstract record SamplingRequest
{
    public string Model { get; set; } = "";
    public int? MaxTokens { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? TopK { get; set; }
    public double? MinP { get; set; }
    public double? RepetitionPenalty { get; set; }
    public double? PresencePenalty { get; set; }
    public double? FrequencyPenalty { get; set; }
    public int? N { get; set; }
    public long? Seed { get; set; }
    public string[]? Stop { get; set; }
    /// <summary>Token id (as a string, as JSON keys are) → bias in [−100, 100].</summary>
    public Dictionary<string, double>? LogitBias { get; set; }
    public bool? Stream { get; set; }
    public StreamingOptions? StreamOptions { get; set; }

    /// <summary><c>stream_options</c>: <c>include_usage</c> adds a last chunk with the usage.</summary>
    public sealed record StreamingOptions(bool? IncludeUsage);
}
