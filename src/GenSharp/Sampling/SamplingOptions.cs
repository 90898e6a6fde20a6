namespace GenSharp.Sampling;

/// <summary>How the next token is drawn from the model's logits.</summary>
public sealed record SamplingOptions
{
    public double Temperature { get; init; } = 0.8;   // 0 = greedy (argmax)
    public int TopK { get; init; } = 0;               // 0 = no top-k filter
    public long? Seed { get; init; }                  // null = nondeterministic

    public SamplingOptions Validate()
    {
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"temperature must be a finite number ≥ 0 (got {Temperature})");
        if (TopK < 0) throw new ArgumentException($"top-k must be ≥ 0 (got {TopK})");
        return this;
    }
}
