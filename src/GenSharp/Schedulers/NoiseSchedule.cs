using static TorchSharp.torch;

namespace GenSharp.Schedulers;

/// <summary>
/// The forward (noising) process of a diffusion model: β_t for t = 0…T−1, α_t = 1 − β_t and ᾱ_t = ∏_{s≤t} α_s.
/// "linear" is DDPM's (Ho et al. 2020 §4: β from 1e-4 to 0.02); "scaled_linear" is linear in √β (latent diffusion);
/// "cosine" is Nichol &amp; Dhariwal 2021, eq. 17 (β range unused).
/// Tables are double-precision arrays; tensors are made on demand.
/// </summary>
public sealed class NoiseSchedule
{
    public const double DefaultBetaStart = 1e-4, DefaultBetaEnd = 0.02;
    public const int MaxSteps = 100_000;

    public NoiseSchedule(string kind = "cosine", int steps = 1000, double betaStart = DefaultBetaStart, double betaEnd = DefaultBetaEnd)
    {
        if (steps < 2 || steps > MaxSteps) throw new ArgumentException($"a noise schedule needs 2…{MaxSteps} steps (got {steps})");
        if (!(betaStart > 0 && betaStart <= betaEnd && betaEnd < 1)) throw new ArgumentException($"need 0 < beta_start ≤ beta_end < 1 (got {betaStart}, {betaEnd})");
        (Kind, Steps, BetaStart, BetaEnd) = (kind, steps, betaStart, betaEnd);
        Betas = kind switch
        {
            "linear" => Enumerable.Range(0, steps).Select(i => betaStart + (betaEnd - betaStart) * i / (steps - 1)).ToArray(),
            "scaled_linear" => Enumerable.Range(0, steps).Select(i => Math.Pow(Math.Sqrt(betaStart) + (Math.Sqrt(betaEnd) - Math.Sqrt(betaStart)) * i / (steps - 1), 2)).ToArray(),
            "cosine" => Cosine(steps),
            _ => throw new ArgumentException($"unknown beta schedule '{kind}' (use linear, scaled_linear or cosine)"),
        };
        AlphasCumprod = new double[steps];
        double prod = 1;
        for (int t = 0; t < steps; t++) AlphasCumprod[t] = prod *= 1 - Betas[t];
    }

    public string Kind { get; }
    public int Steps { get; }
    public double BetaStart { get; }
    public double BetaEnd { get; }
    public double[] Betas { get; }
    public double[] AlphasCumprod { get; }   // ᾱ_t

    /// <summary>ᾱ_{t−1}, with ᾱ_{−1} = 1.</summary>
    public double AlphaCumprodPrev(int t) => t > 0 ? AlphasCumprod[t - 1] : 1.0;

    // ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2), s = 0.008; β_t = 1 − ᾱ_t/ᾱ_{t−1} clipped at 0.999 (eq. 17).
    static double[] Cosine(int steps)
    {
        const double s = 0.008;
        double F(double t) => Math.Pow(Math.Cos((t / steps + s) / (1 + s) * Math.PI / 2), 2);
        return Enumerable.Range(0, steps).Select(i => Math.Min(1 - F(i + 1) / F(i), 0.999)).ToArray();
    }

    /// <summary>
    /// q(x_t | x_0) sampled in closed form (Ho et al. 2020, eq. 4): x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε.
    /// <paramref name="t"/> (B) int64; x0 and noise (B, …).
    /// </summary>
    public Tensor AddNoise(Tensor x0, Tensor noise, Tensor t)
    {
        var abar = tensor(AlphasCumprod, dtype: float32, device: x0.device).index_select(0, t);     // (B)
        var shape = new long[x0.dim()];
        Array.Fill(shape, 1L);
        shape[0] = -1;
        return abar.sqrt().view(shape) * x0 + (1 - abar).sqrt().view(shape) * noise;
    }
}
