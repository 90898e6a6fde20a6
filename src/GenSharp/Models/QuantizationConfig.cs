using System.Text.Json.Serialization;

namespace GenSharp.Models;

/// <summary>
/// config.json's <c>quantization_config</c> for a directory written by <c>gensharp quantize</c>: the projection and
/// output matrices are stored as GGML q8_0 blocks (safetensors I8 values and an F16 <c>.weight_scale</c> per block of
/// 32), read back as q·d. Other methods (GPTQ, AWQ, bitsandbytes) are refused by name.
/// </summary>
public sealed record QuantizationConfig
{
    public const string Q8_0 = "q8_0";

    [JsonPropertyName("quant_method")] public string QuantMethod { get; init; } = Q8_0;
    [JsonPropertyName("group_size")] public int GroupSize { get; init; } = Numerics.Q8Matrix.Block;

    public void Validate()
    {
        ConfigCheck.Require(QuantMethod == Q8_0, $"quantization_config.quant_method '{QuantMethod}' is not supported ({Q8_0}, as gensharp quantize writes)");
        ConfigCheck.Require(GroupSize == Numerics.Q8Matrix.Block, $"quantization_config.group_size {GroupSize} is not supported ({Numerics.Q8Matrix.Block})");
    }
}
