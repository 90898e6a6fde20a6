namespace GenSharp.Server.Api.OpenAi;

/// <summary>The body of <c>POST /v1/completions</c>: one or several prompts (a string is read as one).</summary>
public sealed record CompletionRequest : SamplingRequest
{
    public string[] Prompt { get; set; } = [];
    public bool? Echo { get; set; }
    /// <summary>The legacy API's logprobs: how many alternatives per token, 0…5.</summary>
    public int? Logprobs { get; set; }
    /// <summary>OpenAI's best_of: sample this many candidates per prompt, return the best n (by mean log-probability per token).</summary>
    public int? BestOf { get; set; }
    /// <summary>GenSharp extension: rank best_of candidates by this served reward model instead.</summary>
    public string? RewardModel { get; set; }
    /// <summary>GenSharp extension: refuse candidates in which one of these .NET regular expressions matches.</summary>
    public string[]? RejectPatterns { get; set; }
    /// <summary>GenSharp extension: refuse candidates containing one of these words or phrases (whole words, any case).</summary>
    public string[]? Blocklist { get; set; }

    /// <summary>Whether the request asks for best-of-n or filters (and so cannot stream).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Refines => BestOf is not null || RewardModel is not null || RejectPatterns is not null || Blocklist is not null;
}
