namespace GenSharp.Server.Api.OpenAi;

/// <summary>The body of a non-streamed <c>POST /v1/chat/completions</c> answer (<c>object: "chat.completion"</c>).</summary>
public sealed record ChatCompletion(string Id, string Object, long Created, string Model, ChatCompletion.ChatChoice[] Choices, TokenUsage Usage)
{
    public const string ObjectName = "chat.completion";

    public sealed record ChatChoice(int Index, AssistantMessage Message, ChatLogprobs? Logprobs, string FinishReason);
    public sealed record AssistantMessage(string Role, string Content);
    public sealed record ChatLogprobs(TokenLogprob[] Content);
}
