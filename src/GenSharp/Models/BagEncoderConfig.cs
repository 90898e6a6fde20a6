using System.Text.Json;
using System.Text.Json.Serialization;

namespace GenSharp.Models;

/// <summary>Hyper-parameters of <see cref="BagEncoder"/> and of the feature hashing that feeds it (config.json).</summary>
public sealed record BagEncoderConfig
{
    public const string Type = "gensharp-bag-encoder";
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = Type;
    [JsonPropertyName("buckets")] public int Buckets { get; init; } = 1 << 18;           // hashed feature rows
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 128;         // the embedding's dimensions
    [JsonPropertyName("word_ngrams")] public int WordNgrams { get; init; } = 2;           // 1: words; 2: words and bigrams
    [JsonPropertyName("char_ngram_min")] public int CharNgramMin { get; init; } = 3;      // 0: no character n-grams
    [JsonPropertyName("char_ngram_max")] public int CharNgramMax { get; init; } = 4;
    [JsonPropertyName("max_words")] public int MaxWords { get; init; } = 512;             // words read per text

    public BagEncoderConfig Validate()
    {
        ConfigCheck.Require(ModelType == Type, $"model_type is '{ModelType}', not {Type}");
        ConfigCheck.Range(Buckets, "buckets", 2, 1 << 24);
        ConfigCheck.Range(HiddenSize, "hidden_size", 1, 4096);
        ConfigCheck.Range(WordNgrams, "word_ngrams", 1, 2);
        ConfigCheck.Range(CharNgramMin, "char_ngram_min", 0, 16);
        ConfigCheck.Range(CharNgramMax, "char_ngram_max", CharNgramMin, 16);
        ConfigCheck.Range(MaxWords, "max_words", 1, 1 << 20);
        return this;
    }

    public long ParameterCount => (long)Buckets * HiddenSize;

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
}
