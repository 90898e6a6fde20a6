using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Embeddings;

/// <summary>
/// The contrastive loss of dense retrievers with in-batch negatives (InfoNCE, van den Oord et al. 2018; DPR, Karpukhin et
/// al. 2020): for B queries q_i and their passages p_i (unit vectors), s_ij = q_i·p_j / τ and
///   L = ½ [ −1/B Σ_i log softmax_j(s_ij)_i  −  1/B Σ_j log softmax_i(s_ij)_j ],
/// every other passage of the batch being a negative for q_i (and every other query for p_j). Hard negatives n_m (M, C),
/// when given, join the passages q_i is scored against: the first term's softmax runs over the B + M columns
/// [q_i·p_j, q_i·n_m] / τ, as in DPR's BM25 negatives.
/// </summary>
public static class InfoNce
{
    /// <summary>The symmetric loss for queries (B, C) and passages (B, C), with optional hard negatives (M, C), at temperature τ.</summary>
    public static Tensor Loss(Tensor queries, Tensor passages, double temperature, Tensor? negatives = null)
    {
        var logits = queries.matmul(passages.t()).div(temperature);                 // (B, B): s_ij
        var target = arange(queries.shape[0], dtype: ScalarType.Int64, device: queries.device);
        var forward = negatives is null ? logits : cat([logits, queries.matmul(negatives.t()).div(temperature)], 1);   // (B, B + M)
        return (F.cross_entropy(forward, target) + F.cross_entropy(logits.t(), target)) / 2;
    }

    /// <summary>Fraction of queries whose own passage scores highest among all <paramref name="passages"/> (ties count against).</summary>
    public static double Accuracy(Tensor queries, Tensor passages)
    {
        var scores = queries.matmul(passages.t());                                    // (B, B)
        var own = scores.diagonal().unsqueeze(1);                                     // (B, 1)
        var beaten = (scores >= own).sum(1) - 1;                                      // others at least as high
        return (beaten == 0).to(ScalarType.Float32).mean().item<float>();
    }
}
