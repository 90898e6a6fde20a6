namespace GenSharp.Server.Api.OpenAi;

/// <summary>Token counts of a request (<c>usage</c>).</summary>
public sealed record TokenUsage(int PromptTokens, int CompletionTokens, int TotalTokens)
{
    public static TokenUsage Of(int prompt, int completion) => new(prompt, completion, prompt + completion);
}
