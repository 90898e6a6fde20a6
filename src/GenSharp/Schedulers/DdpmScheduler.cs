using static TorchSharp.torch;

namespace GenSharp.Schedulers;

/// <summary>
/// Ancestral sampling of DDPM (Ho et al. 2020, Algorithm 2) over all T steps, written through the posterior
/// q(x_{t−1} | x_t, x̂_0) (eq. 6–7) so that x̂_0 can be clipped to [−1, 1]:
///   x̂_0 = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t                                   (from eq. 4)
///   μ̃_t = √ᾱ_{t−1} β_t / (1−ᾱ_t) · x̂_0 + √α_t (1−ᾱ_{t−1}) / (1−ᾱ_t) · x_t   (eq. 7)
///   x_{t−1} = μ̃_t + σ_t z,  σ_t² = β̃_t = (1−ᾱ_{t−1}) / (1−ᾱ_t) · β_t       (§3.2, the "fixed small" variance)
/// Without clipping this equals Algorithm 2's x_{t−1} = (x_t − β_t/√(1−ᾱ_t) ε̂)/√α_t + σ_t z exactly.
/// </summary>
public sealed class DdpmScheduler(NoiseSchedule schedule, bool clipSample = true) : IDiffusionScheduler
{
    public IReadOnlyList<int> Timesteps { get; } = Enumerable.Range(0, schedule.Steps).Reverse().ToArray();

    /// <summary>σ_t² used at step t (β̃_t).</summary>
    public double Variance(int t) => t == 0 ? 0 : (1 - schedule.AlphaCumprodPrev(t)) / (1 - schedule.AlphasCumprod[t]) * schedule.Betas[t];

    public Tensor Step(Tensor xt, Tensor epsilon, int index, Generator? generator)
    {
        int t = Timesteps[index];
        double abar = schedule.AlphasCumprod[t], abarPrev = schedule.AlphaCumprodPrev(t), beta = schedule.Betas[t];
        var x0 = (xt - Math.Sqrt(1 - abar) * epsilon) / Math.Sqrt(abar);
        if (clipSample) x0 = x0.clamp(-1, 1);
        var mean = Math.Sqrt(abarPrev) * beta / (1 - abar) * x0 + Math.Sqrt(1 - beta) * (1 - abarPrev) / (1 - abar) * xt;
        if (t == 0) return mean;
        return mean + Math.Sqrt(Variance(t)) * randn(xt.shape, generator: generator, device: xt.device);
    }
}
