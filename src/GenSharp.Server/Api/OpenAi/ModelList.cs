using System.Text.Json.Serialization;

namespace GenSharp.Server.Api.OpenAi;

/// <summary><c>GET /v1/models</c>: OpenAI's model objects plus what kind each is (text or image), its context and its classes.</summary>
public sealed record ModelList(string Object, ModelList.Model[] Data)
{
    public sealed record Model(string Id, string Object, long Created, string OwnedBy, string Type,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ContextLength = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string[]? Classes = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Embeddings = null,
        /// <summary>For a LoRA adapter: the served model it adapts.</summary>
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Parent = null);
}
