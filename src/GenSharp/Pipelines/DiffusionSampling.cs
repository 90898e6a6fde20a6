namespace GenSharp.Pipelines;

/// <summary>How to sample: DDPM (all training steps) or DDIM (<see cref="Steps"/>, η), classifier-free guidance scale and seed.</summary>
public sealed record DiffusionSampling
{
    public string Sampler { get; init; } = "ddim";   // ddim | ddpm
    public int Steps { get; init; } = 25;            // DDIM steps (DDPM always uses every training step)
    public double Eta { get; init; } = 0.0;          // DDIM noise: 0 deterministic, 1 ≈ DDPM
    public double Guidance { get; init; } = 3.0;     // ε = ε_u + w (ε_c − ε_u): 0 unconditional, 1 conditional
    public long Seed { get; init; } = 0;

    public DiffusionSampling Validate(int trainSteps)
    {
        if (Sampler is not ("ddim" or "ddpm")) throw new ArgumentException($"unknown sampler '{Sampler}' (use ddim or ddpm)");
        if (Sampler == "ddim" && (Steps < 1 || Steps > trainSteps)) throw new ArgumentException($"steps must be in 1…{trainSteps} (got {Steps})");
        if (!double.IsFinite(Guidance) || Guidance < 0 || Guidance > 50) throw new ArgumentException($"guidance must be in [0, 50] (got {Guidance})");
        if (!double.IsFinite(Eta) || Eta < 0) throw new ArgumentException($"eta must be a finite number ≥ 0 (got {Eta})");
        return this;
    }
}
