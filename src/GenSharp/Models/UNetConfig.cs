using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models;

/// <summary>Hyper-parameters of <see cref="UNet"/>; written as the model directory's config.json.</summary>
public sealed record UNetConfig
{
    public const string Type = "gensharp-unet";
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = Type;
    [JsonPropertyName("in_channels")] public int InChannels { get; init; } = 1;          // 1 = grayscale, 3 = RGB
    [JsonPropertyName("image_size")] public int ImageSize { get; init; } = 28;           // square images; divisible by 2^(levels−1)
    [JsonPropertyName("base_channels")] public int BaseChannels { get; init; } = 32;
    [JsonPropertyName("channel_mults")] public int[] ChannelMults { get; init; } = [1, 2, 2];   // one entry per resolution level
    [JsonPropertyName("num_classes")] public int NumClasses { get; init; } = 10;         // 0 = unconditional; index NumClasses = "no class"
    [JsonPropertyName("groups")] public int Groups { get; init; } = 8;                   // GroupNorm groups
    [JsonPropertyName("dropout")] public double Dropout { get; init; } = 0.1;
    [JsonPropertyName("class_names")] public string[]? ClassNames { get; init; }

    [JsonIgnore] public int EmbedDim => 4 * BaseChannels;
    [JsonIgnore] public int Levels => ChannelMults.Length;

    public UNetConfig Validate()
    {
        ConfigCheck.Require(ModelType == Type, $"model_type is '{ModelType}', not {Type}");
        ConfigCheck.Require(InChannels is 1 or 3, $"in_channels must be 1 or 3 (got {InChannels})");
        ConfigCheck.Range(Levels, "channel_mults (entries)", 1, 8);
        foreach (var m in ChannelMults) ConfigCheck.Range(m, "channel_mults", 1, 16);
        ConfigCheck.Range(ImageSize, "image_size", 1, ConfigCheck.MaxImageSize);
        ConfigCheck.Require(ImageSize % (1 << (Levels - 1)) == 0, $"image_size {ImageSize} must be divisible by {1 << (Levels - 1)} for {Levels} levels");
        ConfigCheck.Range(BaseChannels, "base_channels", 1, 1024);
        ConfigCheck.Range(Groups, "groups", 1, BaseChannels);
        ConfigCheck.Require(ChannelMults.All(m => BaseChannels * m % Groups == 0), $"channels must be divisible by groups {Groups}");
        ConfigCheck.Range(NumClasses, "num_classes", 0, ConfigCheck.MaxClasses);
        ConfigCheck.Require(ClassNames is null || ClassNames.Length == NumClasses, "class_names must have num_classes entries");
        ConfigCheck.Range(Dropout, "dropout", 0, 1, maxExclusive: true);
        return this;
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
