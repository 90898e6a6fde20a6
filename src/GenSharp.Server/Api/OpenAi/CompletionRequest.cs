namespace GenSharp.Server.Api.OpenAi;

/// <summary>The body of <c>POST /v1/completions</c>: one or several prompts (a string is read as one).</summary>
public sealed record CompletionRequest : SamplingRequest
{
    public string[] Prompt { get; set; } = [];
    public bool? Echo { get; set; }
    /// <summary>The legacy API's logprobs: how many alternatives per token, 0…5.</summary>
    public int? Logprobs { get; set; }
}
