namespace GenSharp.Server.Api.OpenAi;

/// <summary>The body of <c>POST /v1/chat/completions</c> (text content; "developer" is read as "system").</summary>
public sealed record ChatCompletionRequest : SamplingRequest
{
    public Message[] Messages { get; set; } = [];
    public bool? Logprobs { get; set; }
    public int? TopLogprobs { get; set; }

    public sealed record Message(string Role, string Content);
}
