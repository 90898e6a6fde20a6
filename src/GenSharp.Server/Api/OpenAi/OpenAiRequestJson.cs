using System.Text.Json.Serialization;

namespace GenSharp.Server.Api.OpenAi;

/// <summary>Source-generated JSON for the request records: snake_case, fields not set are left out.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(CompletionRequest))]
public sealed partial class OpenAiRequestJson : JsonSerializerContext;
