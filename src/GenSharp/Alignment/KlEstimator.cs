using static TorchSharp.torch;

namespace GenSharp.Alignment;

/// <summary>
/// Per-token estimates of KL(π ‖ π_ref) from log-probabilities of tokens sampled from π (Schulman 2020, "Approximating KL
/// divergence"), with r = π_ref(t)/π(t):
/// <code>
///   k1 = −log r                   unbiased, high variance, can be negative
///   k3 = (r − 1) − log r          unbiased and never negative (GRPO's estimator, Shao et al. 2024, eq. 4)
/// </code>
/// </summary>
public static class KlEstimator
{
    public static Tensor K1(Tensor logProbs, Tensor referenceLogProbs) => logProbs - referenceLogProbs;

    public static Tensor K3(Tensor logProbs, Tensor referenceLogProbs)
    {
        var logRatio = referenceLogProbs - logProbs;   // log r
        return logRatio.exp() - logRatio - 1;
    }
}
