using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using GenSharp.IO;

namespace GenSharp.Tokenizers;

/// <summary>
/// Turns messages into the prompt text a model was trained on. Stored as <c>chat_template.json</c> in the
/// model directory: a format string per role with <c>{content}</c> in it, the text that opens the
/// assistant's reply, and stop sequences that end it. (Hugging Face keeps Jinja templates in
/// tokenizer_config.json; GenSharp's format is deliberately simpler and needs no template engine.)
/// </summary>
public sealed record ChatTemplate
{
    public const string FileName = "chat_template.json";
    public static readonly string[] KnownRoles = ["system", "user", "assistant"];

    [JsonPropertyName("roles")] public required IReadOnlyDictionary<string, string> Roles { get; init; }
    [JsonPropertyName("generation_prompt")] public string GenerationPrompt { get; init; } = "";
    [JsonPropertyName("stop")] public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>
    /// The default for GenSharp's own models: a play script, which even a character-level model trained on
    /// Shakespeare continues sensibly — speaker name in capitals, a colon, the speech, a blank line.
    /// </summary>
    public static ChatTemplate Default { get; } = new()
    {
        Roles = new Dictionary<string, string>
        {
            ["system"] = "{content}\n\n",
            ["user"] = "USER:\n{content}\n\n",
            ["assistant"] = "ASSISTANT:\n{content}\n\n",
        },
        GenerationPrompt = "ASSISTANT:\n",
        Stop = ["\n\n"],
    };

    /// <summary>The prompt for <paramref name="messages"/>, ending with the generation prompt when asked.</summary>
    public string Render(IEnumerable<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            if (!Roles.TryGetValue(m.Role, out var format))
                throw new ArgumentException($"unknown chat role '{m.Role}' (this template knows {string.Join(", ", Roles.Keys)})");
            sb.Append(format.Replace("{content}", m.Content));
        }
        if (addGenerationPrompt) sb.Append(GenerationPrompt);
        return sb.ToString();
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>Reads <c>chat_template.json</c> from a model directory, or returns <see cref="Default"/> when there is none.</summary>
    public static ChatTemplate Load(string modelDir)
    {
        var path = Path.Combine(modelDir, FileName);
        if (!File.Exists(path)) return Default;
        ChatTemplate? t;
        try { t = JsonSerializer.Deserialize<ChatTemplate>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a valid chat template ({e.Message})"); }
        if (t is null || t.Roles.Count == 0 || t.Roles.Values.Any(f => !f.Contains("{content}")))
            throw new InvalidDataException($"{path}: every role needs a format containing {{content}}");
        if (t.Stop.Any(string.IsNullOrEmpty)) throw new InvalidDataException($"{path}: a stop sequence is empty");
        return t;
    }
}
