using static TorchSharp.torch;

namespace GenSharp.Schedulers;

/// <summary>
/// DDIM (Song et al. 2021): a non-Markovian reverse process over a subsequence of S ≤ T timesteps, eq. 12:
///   x_{t_prev} = √ᾱ_prev · x̂_0 + √(1 − ᾱ_prev − σ²) · ε̂ + σ z,   x̂_0 = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t
/// with σ = η · √((1−ᾱ_prev)/(1−ᾱ_t)) · √(1 − ᾱ_t/ᾱ_prev) (eq. 16). η = 0 is deterministic; η = 1 over all T
/// steps has DDPM's posterior variance β̃_t. Timesteps are evenly spaced from T−1 down to 0.
/// </summary>
public sealed class DdimScheduler : IDiffusionScheduler
{
    readonly NoiseSchedule _schedule;
    readonly double _eta;
    readonly bool _clip;

    public DdimScheduler(NoiseSchedule schedule, int steps, double eta = 0.0, bool clipSample = true)
    {
        if (steps < 1 || steps > schedule.Steps) throw new ArgumentException($"DDIM steps must be in 1…{schedule.Steps} (got {steps})");
        if (!(eta >= 0) || double.IsInfinity(eta)) throw new ArgumentException($"eta must be a finite number ≥ 0 (got {eta})");
        (_schedule, _eta, _clip) = (schedule, eta, clipSample);
        Timesteps = steps == 1 ? [schedule.Steps - 1]
            : Enumerable.Range(0, steps).Select(i => (int)Math.Round((schedule.Steps - 1) * (1 - i / (double)(steps - 1)))).Distinct().ToArray();
    }

    public IReadOnlyList<int> Timesteps { get; }

    /// <summary>ᾱ of the step after index i (1 after the last step).</summary>
    double AlphaPrev(int index) => index + 1 < Timesteps.Count ? _schedule.AlphasCumprod[Timesteps[index + 1]] : 1.0;

    /// <summary>σ² at step <paramref name="index"/> (eq. 16).</summary>
    public double Variance(int index)
    {
        double abar = _schedule.AlphasCumprod[Timesteps[index]], prev = AlphaPrev(index);
        return _eta * _eta * (1 - prev) / (1 - abar) * (1 - abar / prev);
    }

    public Tensor Step(Tensor xt, Tensor epsilon, int index, Generator? generator)
    {
        double abar = _schedule.AlphasCumprod[Timesteps[index]], prev = AlphaPrev(index), var = Variance(index);
        var x0 = (xt - Math.Sqrt(1 - abar) * epsilon) / Math.Sqrt(abar);
        if (_clip)
        {
            x0 = x0.clamp(-1, 1);
            epsilon = (xt - Math.Sqrt(abar) * x0) / Math.Sqrt(1 - abar);   // the noise consistent with the clipped x̂_0
        }
        var next = Math.Sqrt(prev) * x0 + Math.Sqrt(Math.Max(0, 1 - prev - var)) * epsilon;
        return var > 0 ? next + Math.Sqrt(var) * randn(xt.shape, generator: generator, device: xt.device) : next;
    }
}
