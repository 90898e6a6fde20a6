using System.Text.Json.Serialization;

namespace GenSharp.Training;

/// <summary>How a run was started, for its model card and its resume: the command line and the data (a path or a name).</summary>
public sealed record RunInfo(
    [property: JsonPropertyName("command")] string Command,
    [property: JsonPropertyName("data")] string Data,
    [property: JsonPropertyName("tokenizer")] string? Tokenizer = null,
    [property: JsonPropertyName("preset")] string? Preset = null);
