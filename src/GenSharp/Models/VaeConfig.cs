using System.Text.Json;
using System.Text.Json.Serialization;

namespace GenSharp.Models;

/// <summary>Hyper-parameters of <see cref="Vae"/> (config.json).</summary>
public sealed record VaeConfig
{
    public const string Type = "gensharp-vae";
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = Type;
    [JsonPropertyName("in_channels")] public int InChannels { get; init; } = 1;
    [JsonPropertyName("image_size")] public int ImageSize { get; init; } = 28;     // divisible by 4
    [JsonPropertyName("channels")] public int Channels { get; init; } = 32;        // first conv; the second has twice as many
    [JsonPropertyName("latent_dim")] public int LatentDim { get; init; } = 16;
    [JsonPropertyName("held_out_class")] public string? HeldOutClass { get; init; }   // left out of training: the "anomalous" class

    public VaeConfig Validate()
    {
        ConfigCheck.Require(ModelType == Type, $"model_type is '{ModelType}', not {Type}");
        ConfigCheck.Require(InChannels is 1 or 3, $"in_channels must be 1 or 3 (got {InChannels})");
        ConfigCheck.Range(ImageSize, "image_size", 4, ConfigCheck.MaxImageSize);
        ConfigCheck.Require(ImageSize % 4 == 0, $"image_size {ImageSize} must be divisible by 4");
        ConfigCheck.Range(Channels, "channels", 1, ConfigCheck.MaxChannels);
        ConfigCheck.Range(LatentDim, "latent_dim", 1, ConfigCheck.MaxLatent);
        return this;
    }

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
}
