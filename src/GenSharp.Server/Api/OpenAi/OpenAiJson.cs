using System.Text.Json.Serialization;

namespace GenSharp.Server.Api.OpenAi;

/// <summary>Source-generated JSON for the OpenAI records: snake_case names, nulls written (OpenAI sends <c>"logprobs": null</c>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false)]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(TextCompletion))]
[JsonSerializable(typeof(EmbeddingList))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelList.Model))]
[JsonSerializable(typeof(ImageList))]
[JsonSerializable(typeof(Health))]
[JsonSerializable(typeof(ErrorResponse))]
public sealed partial class OpenAiJson : JsonSerializerContext;
