using GenSharp.Models;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>
/// A trained retrieval encoder (<see cref="BagEncoder"/>, from <c>gensharp train embedder</c>): texts → unit vectors, so a
/// dot product is a cosine. Texts are featurised on the CPU and embedded in batches without gradients.
/// </summary>
public sealed class EmbedderPipeline : ITextEmbedder, IDisposable
{
    const int BatchSize = 256;
    readonly FeatureHasher _hasher;

    public EmbedderPipeline(BagEncoder model)
    {
        Model = model;
        _hasher = Hasher(model.Config);
    }

    public BagEncoder Model { get; }

    /// <summary>The feature hashing a <see cref="BagEncoder"/> of this config reads.</summary>
    public static FeatureHasher Hasher(BagEncoderConfig c) => new(c.Buckets, c.WordNgrams, c.CharNgramMin, c.CharNgramMax, c.MaxWords);
    public int Dimensions => Model.Config.HiddenSize;

    /// <summary>Opens an embedder directory (config.json with model_type gensharp-bag-encoder, model.safetensors).</summary>
    public static EmbedderPipeline Load(ModelConfigFile config, Device? device = null) =>
        new(ModelDirectory.LoadModule<BagEncoderConfig, BagEncoder>(config, "embedder", c => c.Validate(), c => new BagEncoder(c), device));

    public float[][] Embed(IReadOnlyList<string> texts)
    {
        var vectors = new float[texts.Count][];
        var device = Model.parameters().First().device;
        using var _ = no_grad();
        for (int start = 0; start < texts.Count; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(BatchSize, texts.Count - start);
            var features = Enumerable.Range(start, n).Select(i => _hasher.Features(texts[i])).ToArray();
            var (flat, offsets) = BagEncoder.Batch(features, device);
            var e = Model.forward(flat, offsets).cpu().data<float>().ToArray();   // (n, C) row-major
            for (int i = 0; i < n; i++) vectors[start + i] = e.AsSpan(i * Dimensions, Dimensions).ToArray();
        }
        return vectors;
    }

    public void Dispose() => Model.Dispose();
}
