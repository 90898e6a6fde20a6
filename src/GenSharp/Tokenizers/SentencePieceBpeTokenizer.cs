using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace GenSharp.Tokenizers;

/// <summary>
/// SentencePiece-style BPE as Llama 2 and Mistral ship it in tokenizer.json: spaces become '▁' (U+2581), a '▁' is put in
/// front of the text (SentencePiece's dummy prefix), and merges apply by rank to the characters of the whole text — no
/// regex pre-split. A character the vocabulary lacks becomes its UTF-8 bytes as the tokens &lt;0x00&gt;…&lt;0xFF&gt;
/// (byte fallback), or the unknown token. Both forms of the hub's files are read: the legacy normalizer
/// (Prepend '▁' + Replace ' ' → '▁', which prefixes every stretch between special tokens) and the Metaspace pre-tokenizer
/// (prepend_scheme first / always / never, split or not). Decoding maps '▁' back to spaces, so a continuation keeps the
/// space its first token carries; the text of a whole encoded string starts with the dummy prefix's space.
/// </summary>
public sealed class SentencePieceBpeTokenizer : ITokenizer
{
    public const char Space = '\u2581';

    /// <summary>When the '▁' prefix is added: before every stretch between special tokens, only before a stretch at the very start of the text (not after a leading special token, as tokenizers checks offset 0), or never.</summary>
    public enum Prefix { Always, First, Never }

    readonly string[] _tokens;
    readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    readonly Dictionary<(int, int), (int Rank, int Id)> _merges = [];
    readonly int[] _byteIds = new int[256];                 // -1 where the vocabulary has no <0xXX> token
    readonly Dictionary<int, byte> _byteOf = [];             // and back: a <0xXX> token's byte, for decoding
    readonly Dictionary<string, int> _specials;
    readonly Regex? _specialSplit;

    public SentencePieceBpeTokenizer(IReadOnlyList<string> tokens, IReadOnlyList<(string A, string B)> merges, IReadOnlyDictionary<string, int> specials,
        int? unkId, bool byteFallback, Prefix prefix, bool splitOnSpace)
    {
        _tokens = [.. tokens];
        for (int i = 0; i < _tokens.Length; i++) _ids.TryAdd(_tokens[i], i);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!_ids.TryGetValue(a, out int ia) || !_ids.TryGetValue(b, out int ib) || !_ids.TryGetValue(a + b, out int iab))
                throw new ArgumentException($"merge {rank} ('{a} {b}') uses a token that is not in the vocabulary");
            _merges.TryAdd((ia, ib), (rank, iab));
        }
        for (int b = 0; b < 256; b++)
        {
            _byteIds[b] = _ids.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
            if (_byteIds[b] >= 0) _byteOf[_byteIds[b]] = (byte)b;
        }
        if (byteFallback && _byteIds.Contains(-1)) throw new ArgumentException($"byte_fallback is on but the vocabulary lacks <0x{Array.IndexOf(_byteIds, -1):X2}>");
        if (unkId is { } u && (uint)u >= (uint)_tokens.Length) throw new ArgumentException($"unk_token id {u} is outside the vocabulary");
        _specials = new Dictionary<string, int>(specials);
        foreach (var (content, id) in _specials)
            if ((uint)id >= (uint)_tokens.Length) throw new ArgumentException($"special token '{content}' has id {id} outside the vocabulary");
        if (_specials.Count > 0)
            _specialSplit = new Regex("(" + string.Join("|", _specials.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape)) + ")");
        (UnkId, ByteFallback, PrefixScheme, SplitOnSpace, MergeList) = (unkId, byteFallback, prefix, splitOnSpace, [.. merges]);
    }

    public int VocabSize => _tokens.Length;
    public IReadOnlyDictionary<string, int> SpecialTokens => _specials;
    public IReadOnlyList<string> Tokens => _tokens;
    public IReadOnlyList<(string A, string B)> MergeList { get; }
    public int? UnkId { get; }
    public bool ByteFallback { get; }
    public Prefix PrefixScheme { get; }
    /// <summary>Metaspace's split: merges stay inside each '▁'-led word (the legacy form merges across the whole text).</summary>
    public bool SplitOnSpace { get; }

    /// <inheritdoc/>
    public int[] PromptPrefix { get; init; } = [];

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        var parts = _specialSplit is null ? [text] : _specialSplit.Split(text);
        bool first = true;
        foreach (var part in parts)
        {
            if (part.Length == 0) continue;
            if (_specials.TryGetValue(part, out int special)) { ids.Add(special); first = false; continue; }
            bool prefix = PrefixScheme == Prefix.Always || PrefixScheme == Prefix.First && first;
            var normalized = (prefix ? Space.ToString() : "") + part.Replace(' ', Space);
            first = false;
            if (!SplitOnSpace) { Merge(normalized, ids); continue; }
            int start = 0;
            for (int i = 1; i <= normalized.Length; i++)
                if (i == normalized.Length || normalized[i] == Space) { Merge(normalized[start..i], ids); start = i; }
        }
        return [.. ids];
    }

    // BPE over one stretch: symbols are the characters (a surrogate pair is one), each a vocabulary entry, its UTF-8 bytes
    // (byte fallback) or the unknown token; then the adjacent pair of lowest merge rank is merged until none is left.
    // A heap of candidate pairs with lazy deletion keeps this O(n log n): a stretch here can be a whole document.
    void Merge(string text, List<int> output)
    {
        var symbols = new List<int>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            int width = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            var ch = text.Substring(i, width);
            i += width - 1;
            if (_ids.TryGetValue(ch, out int id)) symbols.Add(id);
            else if (ByteFallback) foreach (var b in Encoding.UTF8.GetBytes(ch)) symbols.Add(_byteIds[b]);
            else if (UnkId is { } unk) { if (symbols.Count == 0 || symbols[^1] != unk) symbols.Add(unk); }   // fuse_unk: one <unk> per run
            else throw new ArgumentException($"the character U+{char.ConvertToUtf32(ch, 0):X4} is not in the vocabulary and the tokenizer has neither byte fallback nor an unknown token");
        }
        int n = symbols.Count;
        var next = new int[n];
        var prev = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++) (next[i], prev[i], alive[i]) = (i + 1, i - 1, true);
        var heap = new PriorityQueue<(int Left, int Right, int Rank), (int Rank, int Left)>();
        void Push(int left)
        {
            int right = left >= 0 && left < n ? next[left] : n;
            if (left < 0 || right >= n) return;
            if (_merges.TryGetValue((symbols[left], symbols[right]), out var m)) heap.Enqueue((left, right, m.Rank), (m.Rank, left));
        }
        for (int i = 0; i + 1 < n; i++) Push(i);
        while (heap.TryDequeue(out var pair, out _))
        {
            var (left, right, rank) = pair;
            // Stale entry: a side was merged away or changed, or the pair is no longer adjacent.
            if (!alive[left] || !alive[right] || next[left] != right || !_merges.TryGetValue((symbols[left], symbols[right]), out var m) || m.Rank != rank) continue;
            symbols[left] = m.Id;
            alive[right] = false;
            next[left] = next[right];
            if (next[right] < n) prev[next[right]] = left;
            Push(prev[left]);
            Push(left);
        }
        for (int i = 0; i < n; i = next[i]) output.Add(symbols[i]);
    }

    public byte[] DecodeBytes(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (0..{_tokens.Length - 1})");
            var token = _tokens[id];
            if (_byteOf.TryGetValue(id, out byte b)) bytes.Add(b);
            else bytes.AddRange(Encoding.UTF8.GetBytes(token.Replace(Space, ' ')));
        }
        return [.. bytes];
    }

    /// <summary>Writes tokenizer.json in the form it was read: the legacy '▁' normalizer (prefix on every stretch, or none) or Metaspace.</summary>
    public void Save(string path)
    {
        var vocab = new JsonObject();
        for (int i = 0; i < _tokens.Length; i++) vocab.TryAdd(_tokens[i], i);
        var root = TokenizerJson.Skeleton();
        root["added_tokens"] = TokenizerJson.AddedTokens(_specials);
        string space = Space.ToString();
        var replace = new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = space };
        if (PrefixScheme == Prefix.First || SplitOnSpace)
            root["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = space, ["prepend_scheme"] = PrefixScheme.ToString().ToLowerInvariant(), ["split"] = SplitOnSpace };
        else
            root["normalizer"] = PrefixScheme == Prefix.Always
                ? new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "Prepend", ["prepend"] = space }, replace) }
                : replace;
        root["decoder"] = new JsonObject { ["type"] = "Sequence", ["decoders"] = new JsonArray(
            new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = space }, ["content"] = " " },
            new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" }) };
        if (PromptPrefix.Length > 0) root["post_processor"] = TokenizerJson.PrefixProcessor([.. PromptPrefix.Select(id => _tokens[id])], PromptPrefix);
        var model = TokenizerJson.BpeModel(vocab, new JsonArray([.. MergeList.Select(m => (JsonNode)JsonValue.Create($"{m.A} {m.B}")!)]));
        model["unk_token"] = UnkId is { } u ? _tokens[u] : null;
        model["fuse_unk"] = true;
        model["byte_fallback"] = ByteFallback;
        root["model"] = model;
        TokenizerJson.Write(path, root);
    }
}
