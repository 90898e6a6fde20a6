using System.Text.Json.Serialization;

namespace GenSharp.Data;

/// <summary>How fine-tuning data is read (stored with the run, so a resume reads it the same way).</summary>
public sealed record SftDataOptions
{
    /// <summary>A system message for conversations that have none (<c>--system</c>).</summary>
    [JsonPropertyName("system")] public string? System { get; init; }
    /// <summary>Skip and count bad lines instead of stopping at the first (<c>--skip-bad</c>).</summary>
    [JsonPropertyName("skip_bad")] public bool SkipBad { get; init; }
    /// <summary>Concatenate examples into full context windows (TRL's packing), masks kept.</summary>
    [JsonPropertyName("packing")] public bool Packing { get; init; }
    /// <summary>The last fraction of the examples is held out for evaluation.</summary>
    [JsonPropertyName("eval_fraction")] public double EvalFraction { get; init; } = 0.1;

    public SftDataOptions Validate()
    {
        if (!(EvalFraction >= 0 && EvalFraction < 1)) throw new ArgumentException($"--eval-fraction must be in [0, 1) (got {EvalFraction})");
        return this;
    }
}
