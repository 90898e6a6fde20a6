using static TorchSharp.torch;

namespace GenSharp.Alignment;

/// <summary>
/// Group relative policy optimisation (Shao et al. 2024, DeepSeekMath, eq. 3): G answers are sampled per prompt, each
/// answer's advantage is its reward normalised within its group, and every token of it gets that advantage in PPO's
/// clipped objective, with a KL penalty to the reference model:
/// <code>
///   Â_i = (r_i − mean(r_group)) / (std(r_group) + ε)
///   ρ_t = π(o_t | q, o_&lt;t) / π_old(o_t | q, o_&lt;t)
///   J   = 1/G Σ_i 1/|o_i| Σ_t [ min(ρ_t·Â_i, clip(ρ_t, 1 − ε_clip, 1 + ε_clip)·Â_i) − β·k3_t ]
/// </code>
/// The loss is −J. std is the sample standard deviation (Bessel-corrected, as TRL); a group whose rewards are all equal
/// has zero advantages and teaches nothing but the KL term.
/// </summary>
public static class GrpoObjective
{
    public const double Epsilon = 1e-4;

    /// <summary>Advantages (N) of rewards (N) laid out group by group, <paramref name="groupSize"/> answers each.</summary>
    public static Tensor Advantages(Tensor rewards, int groupSize)
    {
        if (groupSize < 2) throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize, "a group needs at least 2 answers");
        if (rewards.dim() != 1 || rewards.shape[0] % groupSize != 0)
            throw new ArgumentException($"rewards must be a vector whose length ({string.Join("×", rewards.shape)}) is a multiple of the group size {groupSize}");
        var groups = rewards.view(-1, groupSize);                      // (prompts, G)
        var mean = groups.mean([1], keepdim: true);
        var std = groups.std(1, unbiased: true, keepdim: true);
        return ((groups - mean) / (std + Epsilon)).view(-1);
    }

    /// <summary>
    /// The loss −J for token log-probabilities (N, T) under the policy (with gradient), the sampling policy and the
    /// reference; <paramref name="mask"/> (N, T) is 1 on the answers' tokens; <paramref name="advantages"/> (N).
    /// Returns the loss, and for the logs the mean per-token k3 KL and the fraction of tokens whose ratio was clipped.
    /// </summary>
    public static (Tensor Loss, Tensor Kl, Tensor ClipFraction) Loss(Tensor logProbs, Tensor oldLogProbs, Tensor referenceLogProbs, Tensor mask,
        Tensor advantages, double clip = 0.2, double beta = 0.04)
    {
        var ratio = (logProbs - oldLogProbs.detach()).exp();                              // ρ_t
        var a = advantages.detach().unsqueeze(1);                                         // (N, 1)
        var surrogate = minimum(ratio * a, ratio.clamp(1 - clip, 1 + clip) * a);
        var kl = KlEstimator.K3(logProbs, referenceLogProbs.detach());
        var perToken = surrogate - beta * kl;
        var lengths = mask.sum(1).clamp_min(1);
        var j = ((perToken * mask).sum(1) / lengths).mean();                              // 1/G Σ_i 1/|o_i| Σ_t
        var meanKl = ((kl * mask).sum(1) / lengths).mean().detach();
        var clipped = (ratio - 1).abs().gt(clip).to(mask.dtype);
        var clipFraction = ((clipped * mask).sum() / mask.sum().clamp_min(1)).detach();
        return (-j, meanKl, clipFraction);
    }
}
