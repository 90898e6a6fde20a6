using System.Text.Json.Serialization;

namespace GenSharp.Server.Api.OpenAi;

/// <summary>One server-sent event of a streamed chat completion (<c>object: "chat.completion.chunk"</c>); usage only on the last, when asked.</summary>
public sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, ChatCompletionChunk.ChunkChoice[] Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TokenUsage? Usage = null)
{
    public const string ObjectName = "chat.completion.chunk";

    public sealed record ChunkChoice(int Index, Delta Delta, ChatCompletion.ChatLogprobs? Logprobs, string? FinishReason);

    public sealed record Delta(
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content = null);
}
