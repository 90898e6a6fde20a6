using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using GenSharp.IO;

namespace GenSharp.Tokenizers;

/// <summary>
/// Turns messages into the prompt text a model was trained on. Stored as <c>chat_template.json</c> in the
/// model directory: a format string per role with <c>{content}</c> in it, the text that opens the
/// assistant's reply, and stop sequences that end it. A checkpoint from the Hugging Face hub brings its own Jinja
/// template (chat_template.jinja, or tokenizer_config.json's chat_template) with its BOS and EOS tokens: that template is
/// rendered by <see cref="JinjaTemplate"/> (sandboxed, bounded), and the EOS text ends the reply.
/// </summary>
public sealed record ChatTemplate
{
    public const string FileName = "chat_template.json";
    public static readonly string[] KnownRoles = ["system", "user", "assistant"];

    [JsonPropertyName("roles")] public required IReadOnlyDictionary<string, string> Roles { get; init; }
    [JsonPropertyName("generation_prompt")] public string GenerationPrompt { get; init; } = "";
    [JsonPropertyName("stop")] public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>The model's own Jinja template, when it has one (then <see cref="Roles"/> only lists the roles it takes).</summary>
    [JsonIgnore] public string? Jinja { get; init; }
    [JsonIgnore] public string BosToken { get; init; } = "";
    [JsonIgnore] public string EosToken { get; init; } = "";
    JinjaTemplate? _compiled;

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
        if (Jinja is not null)
        {
            _compiled ??= JinjaTemplate.Parse(Jinja);
            return _compiled.Render(new Dictionary<string, object?>
            {
                ["messages"] = messages.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList(),
                ["add_generation_prompt"] = addGenerationPrompt, ["bos_token"] = BosToken, ["eos_token"] = EosToken,
            });
        }
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

    /// <summary>
    /// Writes the template beside the model: GenSharp's role format as <c>chat_template.json</c> at <paramref name="path"/>; a
    /// Jinja template as <c>chat_template.jinja</c> in the same directory, with its BOS and EOS texts in tokenizer_config.json
    /// when the directory has none — so a fine-tuned hub model keeps its own template.
    /// </summary>
    public void Save(string path)
    {
        if (Jinja is null) { AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json)); return; }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        AtomicFile.WriteAllText(Path.Combine(dir, "chat_template.jinja"), Jinja);
        var config = Path.Combine(dir, "tokenizer_config.json");
        if (!File.Exists(config))
            AtomicFile.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, string> { ["bos_token"] = BosToken, ["eos_token"] = EosToken }, Json));
    }

    /// <summary>A Jinja template with the BOS and EOS texts it may use; syntax errors name <paramref name="origin"/>.</summary>
    public static ChatTemplate FromJinja(string source, string bos, string eos, string origin)
    {
        try { JinjaTemplate.Parse(source); }
        catch (FormatException e) { throw new InvalidDataException($"{origin}: the chat template does not parse ({e.Message})"); }
        return new ChatTemplate { Roles = KnownRoles.ToDictionary(r => r, _ => "{content}"), Jinja = source, BosToken = bos, EosToken = eos, Stop = eos.Length > 0 ? [eos] : [] };
    }

    /// <summary>
    /// The template of a model directory: GenSharp's <c>chat_template.json</c>; else the checkpoint's Jinja template
    /// (chat_template.jinja, chat_template.json's "chat_template", or tokenizer_config.json's "chat_template", the
    /// "default" one of a list); else <see cref="Default"/>.
    /// </summary>
    public static ChatTemplate Load(string modelDir)
    {
        var path = Path.Combine(modelDir, FileName);
        var config = Path.Combine(modelDir, "tokenizer_config.json");
        var (bos, eos, fromConfig) = File.Exists(config) ? HfTokens(config) : ("", "", null);
        string? processorTemplate = null;
        if (!File.Exists(path) || IsHfProcessorTemplate(path, out processorTemplate))
        {
            if (processorTemplate is not null) return FromJinja(processorTemplate, bos, eos, path);
            var jinja = Path.Combine(modelDir, "chat_template.jinja");
            if (File.Exists(jinja)) return FromJinja(File.ReadAllText(jinja), bos, eos, jinja);
            return fromConfig is null ? Default : FromJinja(fromConfig, bos, eos, config);
        }
        ChatTemplate? t;
        try { t = JsonSerializer.Deserialize<ChatTemplate>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a valid chat template ({e.Message})"); }
        if (t is null || t.Roles.Count == 0 || t.Roles.Values.Any(f => !f.Contains("{content}")))
            throw new InvalidDataException($"{path}: every role needs a format containing {{content}}");
        if (t.Stop.Any(string.IsNullOrEmpty)) throw new InvalidDataException($"{path}: a stop sequence is empty");
        return t;
    }

    // transformers' processors save {"chat_template": "…"} under the same file name GenSharp uses.
    static bool IsHfProcessorTemplate(string path, out string? template)
    {
        template = null;
        if (!File.Exists(path)) return false;
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path)) is System.Text.Json.Nodes.JsonObject o && o["roles"] is null && o["chat_template"] is System.Text.Json.Nodes.JsonValue v)
                template = v.GetValue<string>();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { }
        return template is not null;
    }

    // BOS and EOS texts (a string or {"content": …}) and the chat template (a string, or a list of {name, template}) of tokenizer_config.json.
    static (string Bos, string Eos, string? Template) HfTokens(string path)
    {
        System.Text.Json.Nodes.JsonNode? root;
        try { root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        static string Token(System.Text.Json.Nodes.JsonNode? n) => n switch
        {
            System.Text.Json.Nodes.JsonValue v when v.TryGetValue<string>(out var s) => s,
            System.Text.Json.Nodes.JsonObject o => (string?)o["content"] ?? "",
            _ => "",
        };
        string? template = root?["chat_template"] switch
        {
            System.Text.Json.Nodes.JsonValue v when v.TryGetValue<string>(out var s) => s,
            System.Text.Json.Nodes.JsonArray a => (string?)(a.FirstOrDefault(x => (string?)x?["name"] == "default") ?? a.FirstOrDefault())?["template"],
            _ => null,
        };
        return (Token(root?["bos_token"]), Token(root?["eos_token"]), template);
    }
}
