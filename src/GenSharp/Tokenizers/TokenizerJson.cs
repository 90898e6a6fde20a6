using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.IO;

namespace GenSharp.Tokenizers;

/// <summary>Reads and writes the Hugging Face <c>tokenizer.json</c> format.</summary>
public static class TokenizerJson
{
    static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static JsonObject Skeleton() => new()
    {
        ["version"] = "1.0", ["truncation"] = null, ["padding"] = null, ["added_tokens"] = new JsonArray(),
        ["normalizer"] = null, ["pre_tokenizer"] = null, ["post_processor"] = null, ["decoder"] = null,
    };

    internal static JsonObject BpeModel(JsonObject vocab, JsonArray merges) => new()
    {
        ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
        ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
        ["vocab"] = vocab, ["merges"] = merges,
    };

    internal static void Write(string path, JsonObject root) => AtomicFile.WriteAllText(path, root.ToJsonString(Pretty));

    /// <summary>Loads a tokenizer saved by <see cref="ITokenizer.Save"/> (char-level or byte-level BPE).</summary>
    public static ITokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: tokenizer file not found", path);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new TokenizerFormatException(path, $"not valid JSON ({e.Message})"); }
        try
        {
            var model = root?["model"] as JsonObject ?? throw new TokenizerFormatException(path, "no 'model' object");
            string type = (string?)model["type"] ?? "BPE";
            if (type != "BPE") throw new TokenizerFormatException(path, $"model type '{type}' is not supported (only BPE)");
            var vocab = model["vocab"] as JsonObject ?? throw new TokenizerFormatException(path, "model has no 'vocab' object");
            var merges = model["merges"] as JsonArray ?? new JsonArray();
            var preType = (string?)root!["pre_tokenizer"]?["type"];

            var tokens = new SortedDictionary<int, string>();
            foreach (var (tok, idNode) in vocab)
            {
                int id = idNode!.GetValue<int>();
                if (id < 0 || !tokens.TryAdd(id, tok)) throw new TokenizerFormatException(path, $"vocab id {id} is negative or used twice");
            }
            var specials = new Dictionary<string, int>();
            foreach (var added in root["added_tokens"] as JsonArray ?? [])
            {
                string content = (string?)added!["content"] ?? throw new TokenizerFormatException(path, "added token without 'content'");
                int id = (int)added["id"]!;
                specials[content] = id;
                tokens.TryAdd(id, content);
            }
            if (tokens.Count > 0 && tokens.Keys.Last() != tokens.Count - 1)
                throw new TokenizerFormatException(path, $"vocab ids are not contiguous 0..{tokens.Count - 1}");

            if (preType == "ByteLevel")
            {
                var pairs = merges.Select(m => ParseMerge(m, path)).ToList();
                return new ByteLevelBpeTokenizer(tokens.Values.ToList(), pairs, specials);
            }
            if (preType is null && merges.Count == 0)
                return new CharTokenizer(tokens.Values);
            throw new TokenizerFormatException(path, $"unsupported tokenizer (pre_tokenizer '{preType ?? "none"}' with {merges.Count} merges)");
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or NullReferenceException)
        {
            throw new TokenizerFormatException(path, $"malformed tokenizer.json ({e.Message})");
        }
    }

    // Merges are "a b" strings (tokenizers < 0.20) or ["a", "b"] pairs (newer); accept both.
    static (string, string) ParseMerge(JsonNode? m, string path)
    {
        if (m is JsonArray { Count: 2 } arr) return ((string)arr[0]!, (string)arr[1]!);
        var s = (string?)m ?? throw new TokenizerFormatException(path, "null merge entry");
        int space = s.IndexOf(' ');
        if (space <= 0 || space == s.Length - 1) throw new TokenizerFormatException(path, $"malformed merge '{s}'");
        return (s[..space], s[(space + 1)..]);
    }
}
