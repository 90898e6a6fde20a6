using System.Text.Json;
using System.Text.Json.Serialization;

namespace GenSharp.Models;

/// <summary>Hyper-parameters of <see cref="FashionClassifier"/> (config.json).</summary>
public sealed record ClassifierConfig
{
    public const string Type = "gensharp-cnn-classifier";
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = Type;
    [JsonPropertyName("in_channels")] public int InChannels { get; init; } = 1;
    [JsonPropertyName("image_size")] public int ImageSize { get; init; } = 28;       // divisible by 4
    [JsonPropertyName("channels")] public int Channels { get; init; } = 32;          // first conv; the second has twice as many
    [JsonPropertyName("feature_dim")] public int FeatureDim { get; init; } = 64;     // penultimate layer: the FID feature space
    [JsonPropertyName("num_classes")] public int NumClasses { get; init; } = 10;
    [JsonPropertyName("class_names")] public string[]? ClassNames { get; init; }

    public ClassifierConfig Validate()
    {
        ConfigCheck.Require(ModelType == Type, $"model_type is '{ModelType}', not {Type}");
        ConfigCheck.Require(InChannels is 1 or 3, $"in_channels must be 1 or 3 (got {InChannels})");
        ConfigCheck.Range(ImageSize, "image_size", 4, ConfigCheck.MaxImageSize);
        ConfigCheck.Require(ImageSize % 4 == 0, $"image_size {ImageSize} must be divisible by 4");
        ConfigCheck.Range(Channels, "channels", 1, ConfigCheck.MaxChannels);
        ConfigCheck.Range(FeatureDim, "feature_dim", 1, ConfigCheck.MaxLatent);
        ConfigCheck.Range(NumClasses, "num_classes", 2, ConfigCheck.MaxClasses);
        ConfigCheck.Require(ClassNames is not { } n || n.Length == NumClasses, $"class_names has {ClassNames?.Length} entries for {NumClasses} classes");
        return this;
    }

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
}
