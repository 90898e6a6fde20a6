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

    internal static JsonArray AddedTokens(IReadOnlyDictionary<string, int> specials) => new([.. specials.OrderBy(s => s.Value).Select(s => (JsonNode)new JsonObject
    {
        ["id"] = s.Value, ["content"] = s.Key, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
    })]);

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

            if (SentencePieceForm(root!.AsObject(), model, path) is var (prefix, split))
            {
                int? unk = null;
                if ((string?)model["unk_token"] is { } u)
                    unk = tokens.Where(t => t.Value == u).Select(t => (int?)t.Key).FirstOrDefault()
                        ?? throw new TokenizerFormatException(path, $"unk_token '{u}' is not in the vocabulary");
                bool fallback = model["byte_fallback"] is JsonValue bf && bf.GetValue<bool>();
                return new SentencePieceBpeTokenizer([.. tokens.Values], [.. merges.Select(m => ParseMerge(m, path))], specials, unk, fallback, prefix, split)
                    { PromptPrefix = PromptPrefix(root["post_processor"], tokens.Count, path) };
            }
            if (preType is "ByteLevel" or "Sequence")
            {
                var pairs = merges.Select(m => ParseMerge(m, path)).ToList();
                bool ignoreMerges = model["ignore_merges"] is JsonValue im && im.GetValue<bool>();
                return new ByteLevelBpeTokenizer(tokens.Values.ToList(), pairs, specials, Splitter(root["pre_tokenizer"]!.AsObject(), path), ignoreMerges, Nfc(root["normalizer"], path))
                    { PromptPrefix = PromptPrefix(root["post_processor"], tokens.Count, path) };
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

    // The byte-level pre-tokenizers real checkpoints ship: ByteLevel with its own (GPT-2) regex, or a Split by a regex
    // (Isolated) followed by ByteLevel without one (Llama 3, Qwen2, and others by their pattern).
    static PreTokenizer Splitter(JsonObject pre, string path)
    {
        bool Flag(JsonNode? node, string key, bool fallback) => node?[key] is JsonValue v ? v.GetValue<bool>() : fallback;
        if ((string?)pre["type"] == "ByteLevel")
        {
            if (Flag(pre, "add_prefix_space", false)) throw new TokenizerFormatException(path, "ByteLevel add_prefix_space true is not supported");
            return Flag(pre, "use_regex", true) ? PreTokenizer.Gpt2 : throw new TokenizerFormatException(path, "ByteLevel without a regex and without a Split before it is not supported");
        }
        var steps = pre["pretokenizers"] as JsonArray ?? throw new TokenizerFormatException(path, "a Sequence pre_tokenizer without 'pretokenizers'");
        if (steps.Count != 2 || (string?)steps[0]?["type"] != "Split" || (string?)steps[1]?["type"] != "ByteLevel")
            throw new TokenizerFormatException(path, $"pre_tokenizer Sequence of [{string.Join(", ", steps.Select(x => (string?)x?["type"]))}] is not supported (Split then ByteLevel)");
        var split = steps[0]!;
        var pattern = (string?)split["pattern"]?["Regex"] ?? throw new TokenizerFormatException(path, "the Split pre-tokenizer has no pattern.Regex");
        if ((string?)split["behavior"] != "Isolated" || Flag(split, "invert", false))
            throw new TokenizerFormatException(path, $"Split behavior '{(string?)split["behavior"]}' (invert {Flag(split, "invert", false)}) is not supported (Isolated)");
        if (Flag(steps[1], "use_regex", true) || Flag(steps[1], "add_prefix_space", false))
            throw new TokenizerFormatException(path, "the ByteLevel after a Split must have use_regex and add_prefix_space false");
        return pattern switch
        {
            PreTokenizer.Gpt2Pattern => PreTokenizer.Gpt2, PreTokenizer.Llama3Pattern => PreTokenizer.Llama3, PreTokenizer.Qwen2Pattern => PreTokenizer.Qwen2,
            _ => new PreTokenizer(pattern),
        };
    }

    /// <summary>
    /// Llama 2 / Mistral's SentencePiece-style files: spaces as '▁' by the legacy normalizer (Prepend '▁' + Replace ' ' → '▁')
    /// or by the Metaspace pre-tokenizer. Null when the file is not of that form; anything else around it is refused by name.
    /// </summary>
    static (SentencePieceBpeTokenizer.Prefix Prefix, bool Split)? SentencePieceForm(JsonObject root, JsonObject model, string path)
    {
        var normalizer = root["normalizer"] as JsonObject;
        var pre = root["pre_tokenizer"] as JsonObject;
        string space = SentencePieceBpeTokenizer.Space.ToString();
        bool IsReplace(JsonNode? n) => (string?)n?["type"] == "Replace" && (string?)n["pattern"]?["String"] == " " && (string?)n["content"] == space;
        bool IsPrepend(JsonNode? n) => (string?)n?["type"] == "Prepend" && (string?)n["prepend"] == space;
        if ((string?)pre?["type"] == "Metaspace")
        {
            if (normalizer is not null) throw new TokenizerFormatException(path, $"normalizer '{(string?)normalizer["type"]}' before a Metaspace pre-tokenizer is not supported");
            if ((string?)pre["replacement"] is { } r && r != space) throw new TokenizerFormatException(path, $"Metaspace replacement '{r}' is not supported (U+2581)");
            var scheme = (string?)pre["prepend_scheme"] ?? (pre["add_prefix_space"] is JsonValue a && !a.GetValue<bool>() ? "never" : "always");
            var prefix = scheme switch
            {
                "always" => SentencePieceBpeTokenizer.Prefix.Always, "first" => SentencePieceBpeTokenizer.Prefix.First, "never" => SentencePieceBpeTokenizer.Prefix.Never,
                _ => throw new TokenizerFormatException(path, $"Metaspace prepend_scheme '{scheme}' is not supported (always, first, never)"),
            };
            return (prefix, pre["split"] is not JsonValue sp || sp.GetValue<bool>());
        }
        var steps = (string?)normalizer?["type"] == "Sequence" ? [.. (normalizer!["normalizers"] as JsonArray ?? [])] : normalizer is null ? new List<JsonNode?>() : [normalizer];
        bool legacy = steps.Count switch
        {
            2 => IsPrepend(steps[0]) && IsReplace(steps[1]),
            1 => IsReplace(steps[0]),
            _ => false,
        };
        if (legacy)
        {
            if (pre is not null) throw new TokenizerFormatException(path, $"pre_tokenizer '{(string?)pre["type"]}' after the '▁' normalizer is not supported");
            return (steps.Count == 2 ? SentencePieceBpeTokenizer.Prefix.Always : SentencePieceBpeTokenizer.Prefix.Never, false);
        }
        if (model["byte_fallback"] is JsonValue fb && fb.GetValue<bool>())
            throw new TokenizerFormatException(path, "byte_fallback without the '▁' normalizer or a Metaspace pre-tokenizer is not supported");
        return null;
    }

    /// <summary>
    /// The special tokens a post-processor puts before a single text: TemplateProcessing's <c>single</c> up to the
    /// <c>$A</c> sequence (alone or inside a Sequence of post-processors, as Llama 3 ships it). ByteLevel's only adjusts
    /// offsets. Tokens after the text, or another kind of post-processor, are refused by name.
    /// </summary>
    static int[] PromptPrefix(JsonNode? processor, int vocabSize, string path)
    {
        switch ((string?)processor?["type"])
        {
            case null or "ByteLevel": return [];
            case "Sequence":
                var all = (processor!["processors"] as JsonArray ?? []).Select(p => PromptPrefix(p, vocabSize, path)).Where(p => p.Length > 0).ToList();
                return all.Count <= 1 ? all.FirstOrDefault() ?? [] : throw new TokenizerFormatException(path, "more than one post-processor adds tokens");
            case "TemplateProcessing":
                var prefix = new List<int>();
                bool text = false;
                foreach (var piece in processor!["single"] as JsonArray ?? throw new TokenizerFormatException(path, "TemplateProcessing without 'single'"))
                {
                    if (piece?["Sequence"] is not null) { text = true; continue; }
                    var name = (string?)piece?["SpecialToken"]?["id"] ?? throw new TokenizerFormatException(path, "a TemplateProcessing piece is neither Sequence nor SpecialToken");
                    if (text) throw new TokenizerFormatException(path, $"the post-processor adds '{name}' after the text; only tokens before it are supported");
                    var ids = processor["special_tokens"]?[name]?["ids"] as JsonArray ?? throw new TokenizerFormatException(path, $"TemplateProcessing's special_tokens has no ids for '{name}'");
                    foreach (var id in ids)
                        prefix.Add((int?)id is { } i && i >= 0 && i < vocabSize ? i : throw new TokenizerFormatException(path, $"post-processor token '{name}' has id {id} outside the vocabulary"));
                }
                return [.. prefix];
            case var other: throw new TokenizerFormatException(path, $"post_processor '{other}' is not supported (TemplateProcessing, ByteLevel)");
        }
    }

    /// <summary>A TemplateProcessing post-processor that puts <paramref name="tokens"/> before a text (and each text of a pair).</summary>
    internal static JsonObject PrefixProcessor(string[] tokens, int[] ids)
    {
        var special = new JsonObject();
        for (int i = 0; i < tokens.Length; i++) special[tokens[i]] = new JsonObject { ["id"] = tokens[i], ["ids"] = new JsonArray(ids[i]), ["tokens"] = new JsonArray(tokens[i]) };
        JsonArray Template(params string[] sequences) => new([.. sequences.SelectMany(seq =>
            tokens.Select(t => (JsonNode)new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = t, ["type_id"] = 0 } })
                .Append(new JsonObject { ["Sequence"] = new JsonObject { ["id"] = seq, ["type_id"] = 0 } }))]);
        return new JsonObject { ["type"] = "TemplateProcessing", ["single"] = Template("A"), ["pair"] = Template("A", "B"), ["special_tokens"] = special };
    }

    static bool Nfc(JsonNode? normalizer, string path) => normalizer switch
    {
        null => false,
        JsonObject n when (string?)n["type"] == "NFC" => true,
        _ => throw new TokenizerFormatException(path, $"normalizer '{(string?)normalizer["type"]}' is not supported (none or NFC)"),
    };

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
