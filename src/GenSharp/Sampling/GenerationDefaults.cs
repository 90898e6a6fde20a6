using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Sampling;

/// <summary>
/// A checkpoint's own sampling defaults (transformers' generation_config.json): what a generation uses for each control
/// the caller leaves unset. <c>do_sample: false</c> means greedy (temperature 0); a key that is absent leaves GenSharp's
/// default. Values are checked with <see cref="GenerationOptions"/>'s bounds, and errors name the file and the key.
/// </summary>
public sealed record GenerationDefaults
{
    public const string FileName = "generation_config.json";

    public double? Temperature { get; init; }
    public int? TopK { get; init; }
    public double? TopP { get; init; }
    public double? MinP { get; init; }
    public double? TypicalP { get; init; }
    public double? RepetitionPenalty { get; init; }
    public int? MaxNewTokens { get; init; }

    public static readonly GenerationDefaults None = new();

    /// <summary>The defaults in <paramref name="dir"/>'s generation_config.json, or none when the file is absent.</summary>
    public static GenerationDefaults Load(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return None;
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not an object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        T? Get<T>(string key) where T : struct
        {
            if (json[key] is not JsonValue v) return null;
            try { return v.GetValue<T>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                // An int key written as a whole number with a fraction part (50.0) is that int.
                if (typeof(T) == typeof(int) && v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) return (T)(object)(int)d;
                throw new InvalidDataException($"{path}: '{key}' is not a {(typeof(T) == typeof(bool) ? "boolean" : "number")}");
            }
        }
        bool sample = Get<bool>("do_sample") ?? false;
        var d = new GenerationDefaults
        {
            Temperature = sample ? Get<double>("temperature") : 0, TopK = sample ? Get<int>("top_k") : null, TopP = sample ? Get<double>("top_p") : null,
            MinP = sample ? Get<double>("min_p") : null, TypicalP = sample ? Get<double>("typical_p") : null,
            RepetitionPenalty = Get<double>("repetition_penalty"), MaxNewTokens = Get<int>("max_new_tokens"),
        };
        try { d.ApplyTo(new GenerationOptions(), _ => false).Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        return d;
    }

    /// <summary>
    /// <paramref name="options"/> with each control the caller did not set (<paramref name="given"/> is false for its
    /// GenerationOptions property name) taken from these defaults where they have one.
    /// </summary>
    public GenerationOptions ApplyTo(GenerationOptions options, Func<string, bool> given) => options with
    {
        Temperature = !given(nameof(GenerationOptions.Temperature)) && Temperature is { } t ? t : options.Temperature,
        TopK = !given(nameof(GenerationOptions.TopK)) && TopK is { } k ? k : options.TopK,
        TopP = !given(nameof(GenerationOptions.TopP)) && TopP is { } p ? p : options.TopP,
        MinP = !given(nameof(GenerationOptions.MinP)) && MinP is { } m ? m : options.MinP,
        TypicalP = !given(nameof(GenerationOptions.TypicalP)) && TypicalP is { } y ? y : options.TypicalP,
        RepetitionPenalty = !given(nameof(GenerationOptions.RepetitionPenalty)) && RepetitionPenalty is { } r ? r : options.RepetitionPenalty,
        MaxTokens = !given(nameof(GenerationOptions.MaxTokens)) && MaxNewTokens is { } n ? n : options.MaxTokens,
    };
}
