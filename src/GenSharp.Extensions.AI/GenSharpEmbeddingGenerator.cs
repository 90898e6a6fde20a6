using GenSharp.Pipelines;
using Microsoft.Extensions.AI;

namespace GenSharp.Extensions.AI;

/// <summary>A local embedder — a trained retrieval encoder (<see cref="EmbedderPipeline"/>) or a language model's mean-pooled
/// hidden states (<see cref="TextEmbeddingPipeline"/>) — as a Microsoft.Extensions.AI embedding generator.</summary>
public sealed class GenSharpEmbeddingGenerator(ITextEmbedder embedder, string modelId) : IEmbeddingGenerator<string, Embedding<float>>
{
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        if (options?.Dimensions is { } d && d != embedder.Dimensions) throw new ArgumentException($"this model's embeddings have {embedder.Dimensions} dimensions (asked for {d})");
        var texts = values.ToArray();
        var vectors = await Task.Run(() => embedder.Embed(texts), cancellationToken).ConfigureAwait(false);
        return new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v) { ModelId = modelId, CreatedAt = DateTimeOffset.UtcNow }));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("gensharp", null, modelId, embedder.Dimensions)
        : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }
}
