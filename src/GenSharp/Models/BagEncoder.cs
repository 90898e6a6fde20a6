using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Models;

/// <summary>
/// A bi-encoder for retrieval in its smallest useful form: a text's hashed features (<see cref="Tokenizers.FeatureHasher"/>)
/// are looked up in one table and averaged (fastText's bag, Joulin et al. 2017), and the mean is scaled to unit length, so
/// the dot product of two embeddings is their cosine. Queries and passages share the table (a Siamese encoder, as in
/// ICT, Lee et al. 2019). Trained contrastively it learns which words co-occur in the user's corpus — the vocabulary
/// mismatch BM25 cannot bridge — at a cost of microseconds per text on a CPU.
/// Features (N) as one flat list with each text's start in <c>offsets</c> (B) → unit vectors (B, hidden_size).
/// </summary>
public sealed class BagEncoder : Module<Tensor, Tensor, Tensor>
{
    readonly EmbeddingBag embeddings;   // (buckets, hidden_size); HF-style key "embeddings.weight"

    public BagEncoder(BagEncoderConfig config) : base(nameof(BagEncoder))
    {
        Config = config.Validate();
        embeddings = EmbeddingBag(config.Buckets, config.HiddenSize, mode: TorchSharp.EmbeddingBagMode.Mean);
        RegisterComponents();
        using var _ = no_grad();
        init.normal_(embeddings.weight!, 0, 0.1);
    }

    public BagEncoderConfig Config { get; }

    public override Tensor forward(Tensor features, Tensor offsets) =>
        F.normalize(embeddings.forward(features, offsets, null), p: 2, dim: 1, eps: 1e-8);   // (B, C), ‖row‖ = 1 (a text without features stays 0)

    /// <summary>Flat features and offsets for a batch of featurised texts, on <paramref name="device"/>.</summary>
    public static (Tensor Features, Tensor Offsets) Batch(IReadOnlyList<int[]> texts, Device device)
    {
        var offsets = new long[texts.Count];
        long total = 0;
        for (int i = 0; i < texts.Count; i++) { offsets[i] = total; total += texts[i].Length; }
        var flat = new long[total];
        long at = 0;
        foreach (var t in texts) foreach (var id in t) flat[at++] = id;
        return (tensor(flat, device: device), tensor(offsets, device: device));
    }
}
