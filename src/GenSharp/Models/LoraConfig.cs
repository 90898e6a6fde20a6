using System.Text.Json.Serialization;

namespace GenSharp.Models;

/// <summary>
/// A LoRA adapter's shape (Hu et al. 2021): rank r, scale α/r, dropout on the adapter's input, and which projections
/// get one. Field names are PEFT's (adapter_config.json).
/// </summary>
public sealed record LoraConfig
{
    /// <summary>Every projection a Llama decoder layer has, in PEFT's names.</summary>
    public static readonly string[] AllTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    [JsonPropertyName("r")] public int Rank { get; init; } = 8;
    [JsonPropertyName("lora_alpha")] public double Alpha { get; init; } = 16;
    [JsonPropertyName("lora_dropout")] public double Dropout { get; init; } = 0.05;
    [JsonPropertyName("target_modules")] public string[] TargetModules { get; init; } = AllTargets;

    [JsonIgnore] public double Scale => Alpha / Rank;

    public LoraConfig Validate()
    {
        ConfigCheck.Range(Rank, "r", 1, 4096);
        ConfigCheck.Range(Alpha, "lora_alpha", 0, 1e6, minExclusive: true);
        ConfigCheck.Range(Dropout, "lora_dropout", 0, 1, maxExclusive: true);
        ConfigCheck.Require(TargetModules.Length > 0, "target_modules is empty");
        foreach (var t in TargetModules)
            ConfigCheck.Require(AllTargets.Contains(t), $"target_modules names '{t}', not a projection of this model ({string.Join(", ", AllTargets)})");
        return this;
    }
}
