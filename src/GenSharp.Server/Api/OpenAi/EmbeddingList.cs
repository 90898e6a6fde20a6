using System.Text.Json.Nodes;

namespace GenSharp.Server.Api.OpenAi;

/// <summary>The answer to <c>POST /v1/embeddings</c>; each embedding is an array of floats or a base64 string.</summary>
public sealed record EmbeddingList(string Object, string Model, EmbeddingList.Item[] Data, EmbeddingList.EmbeddingUsage Usage)
{
    public sealed record Item(string Object, int Index, JsonNode Embedding);
    public sealed record EmbeddingUsage(int PromptTokens, int TotalTokens);
}
