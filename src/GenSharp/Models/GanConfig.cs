using System.Text.Json;
using System.Text.Json.Serialization;

namespace GenSharp.Models;

/// <summary>Hyper-parameters of the GAN (config.json).</summary>
public sealed record GanConfig
{
    public const string Type = "gensharp-gan";
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = Type;
    [JsonPropertyName("in_channels")] public int InChannels { get; init; } = 1;
    [JsonPropertyName("image_size")] public int ImageSize { get; init; } = 28;       // divisible by 4
    [JsonPropertyName("latent_dim")] public int LatentDim { get; init; } = 64;       // z ~ N(0, I)
    [JsonPropertyName("channels")] public int Channels { get; init; } = 32;          // widths c, 2c, 4c from full to quarter resolution
    [JsonPropertyName("num_classes")] public int NumClasses { get; init; } = 10;     // 0 = unconditional
    [JsonPropertyName("class_names")] public string[]? ClassNames { get; init; }

    public GanConfig Validate()
    {
        ConfigCheck.Require(ModelType == Type, $"model_type is '{ModelType}', not {Type}");
        ConfigCheck.Require(InChannels is 1 or 3, $"in_channels must be 1 or 3 (got {InChannels})");
        ConfigCheck.Range(ImageSize, "image_size", 8, ConfigCheck.MaxImageSize);
        ConfigCheck.Require(ImageSize % 4 == 0, $"image_size {ImageSize} must be divisible by 4");
        ConfigCheck.Range(LatentDim, "latent_dim", 1, ConfigCheck.MaxLatent);
        ConfigCheck.Range(Channels, "channels", 1, ConfigCheck.MaxChannels / 4);
        ConfigCheck.Range(NumClasses, "num_classes", 0, ConfigCheck.MaxClasses);
        ConfigCheck.Require(ClassNames is not { } n || n.Length == NumClasses, $"class_names has {ClassNames?.Length} entries for {NumClasses} classes");
        return this;
    }

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
}
