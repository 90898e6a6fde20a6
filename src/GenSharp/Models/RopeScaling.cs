using System.Text.Json.Serialization;

namespace GenSharp.Models;

/// <summary>
/// HF's <c>rope_scaling</c>: how the rotary frequencies inv_freq_i = θ^(−2i/d) are stretched for contexts longer than the
/// model was trained on. "linear" (Chen et al. 2023, position interpolation): inv_freq / factor. "llama3" (Llama 3.1):
/// with wavelength λ_i = 2π / inv_freq_i and λ_lo = L₀ / low_freq_factor, λ_hi = L₀ / high_freq_factor (L₀ the original
/// context), frequencies with λ &lt; λ_hi stay, those with λ &gt; λ_lo are divided by factor, and between them
/// s = (L₀/λ − low) / (high − low) blends: (1 − s)·inv_freq/factor + s·inv_freq. Other types are refused by name.
/// </summary>
public sealed record RopeScaling
{
    [JsonPropertyName("rope_type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? RopeType { get; init; }
    [JsonPropertyName("type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? LegacyType { get; init; }   // older configs
    [JsonPropertyName("factor")] public double Factor { get; init; } = 1;
    [JsonPropertyName("low_freq_factor"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? LowFreqFactor { get; init; }
    [JsonPropertyName("high_freq_factor"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? HighFreqFactor { get; init; }
    [JsonPropertyName("original_max_position_embeddings"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? OriginalContext { get; init; }

    [JsonIgnore] public string Kind => RopeType ?? LegacyType ?? "default";

    public void Validate()
    {
        ConfigCheck.Require(Kind is "linear" or "llama3" or "default", $"rope_scaling type '{Kind}' is not supported (linear, llama3)");
        ConfigCheck.Range(Factor, "rope_scaling.factor", 0, 1e6, minExclusive: true);
        if (Kind != "llama3") return;
        ConfigCheck.Require(LowFreqFactor is > 0 && HighFreqFactor is { } high && high > LowFreqFactor && OriginalContext is > 0,
            "rope_scaling llama3 needs low_freq_factor > 0, high_freq_factor > low_freq_factor and original_max_position_embeddings > 0");
    }

    /// <summary>The scaled frequencies for the unscaled <paramref name="invFreq"/>.</summary>
    public double[] Apply(double[] invFreq)
    {
        if (Kind == "default") return invFreq;
        if (Kind == "linear") return [.. invFreq.Select(f => f / Factor)];
        double low = LowFreqFactor!.Value, high = HighFreqFactor!.Value, original = OriginalContext!.Value;
        double lowWavelen = original / low, highWavelen = original / high;
        return [.. invFreq.Select(f =>
        {
            double wavelen = 2 * Math.PI / f;
            if (wavelen < highWavelen) return f;
            if (wavelen > lowWavelen) return f / Factor;
            double s = (original / wavelen - low) / (high - low);
            return (1 - s) * f / Factor + s * f;
        })];
    }
}
