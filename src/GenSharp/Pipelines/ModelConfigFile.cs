using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Pipelines;

/// <summary>A model directory's config.json, read once: its kind (<see cref="ModelType"/>) and its values.</summary>
public sealed record ModelConfigFile(string Directory, string Path, JsonObject Json)
{
    /// <summary>The <c>model_type</c> key, or null when it is absent or not a string.</summary>
    public string? ModelType => Json["model_type"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The values as <typeparamref name="T"/>, checked by <paramref name="validate"/>; errors name the file and the key.</summary>
    public T Parse<T>(string what, Func<T, T> validate)
    {
        try { return validate(Json.Deserialize<T>() ?? throw new JsonException("empty")); }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        { throw new ModelLoadException($"{Path}: not a valid {what} config ({e.Message})"); }
    }
}
