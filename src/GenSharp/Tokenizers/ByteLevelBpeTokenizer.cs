using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace GenSharp.Tokenizers;

/// <summary>
/// Byte-level BPE: text is split by a pre-tokenizer (GPT-2's pattern unless another family's is given: Llama 3, Qwen2),
/// each piece's UTF-8 bytes are mapped to printable symbols, then merges are applied by rank — or, with ignore_merges
/// (Llama 3), a piece that is itself a vocabulary entry is that entry. Any string round-trips exactly (lone UTF-16
/// surrogates, which have no UTF-8 form, become U+FFFD as in <see cref="Encoding.UTF8"/>).
/// </summary>
public sealed class ByteLevelBpeTokenizer : ITokenizer
{

    /// <summary>GPT-2's bytes_to_unicode: each byte maps to a printable character so vocab entries are text.</summary>
    internal static readonly char[] ByteToChar = BuildByteToChar();

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }

    readonly List<string> _tokens;                           // id → symbol string
    readonly int[] _byteIds = new int[256];                   // byte → id
    readonly Dictionary<(int, int), (int Rank, int Id)> _merges = new();
    readonly Dictionary<int, byte[]> _tokenBytes = new();
    readonly Dictionary<string, int> _specials;
    readonly Regex? _specialSplit;
    readonly Dictionary<string, int[]> _cache = new();

    readonly Dictionary<string, int> _ids;

    public ByteLevelBpeTokenizer(IReadOnlyList<string> tokens, IReadOnlyList<(string A, string B)> merges, IReadOnlyDictionary<string, int> specials,
        PreTokenizer? preTokenizer = null, bool ignoreMerges = false, bool nfc = false)
    {
        (Splitter, IgnoreMerges, Nfc) = (preTokenizer ?? PreTokenizer.Gpt2, ignoreMerges, nfc);
        _tokens = tokens.ToList();
        var ids = _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Count; i++) ids.TryAdd(_tokens[i], i);
        for (int b = 0; b < 256; b++)
            if (!ids.TryGetValue(ByteToChar[b].ToString(), out _byteIds[b]))
                throw new ArgumentException($"byte-level vocabulary lacks the symbol for byte 0x{b:X2}");
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!ids.TryGetValue(a, out int ia) || !ids.TryGetValue(b, out int ib) || !ids.TryGetValue(a + b, out int iab))
                throw new ArgumentException($"merge {rank} ('{a} {b}') uses a token that is not in the vocabulary");
            _merges.TryAdd((ia, ib), (rank, iab));
        }
        _specials = new Dictionary<string, int>(specials);
        foreach (var (content, id) in _specials)
            if ((uint)id >= (uint)_tokens.Count) throw new ArgumentException($"special token '{content}' has id {id} outside the vocabulary");
        if (_specials.Count > 0)
            _specialSplit = new Regex("(" + string.Join("|", _specials.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape)) + ")");
        MergeList = merges.ToList();
    }

    public int VocabSize => _tokens.Count;
    public IReadOnlyDictionary<string, int> SpecialTokens => _specials;
    public IReadOnlyList<string> Tokens => _tokens;
    public IReadOnlyList<(string A, string B)> MergeList { get; }
    public PreTokenizer Splitter { get; }
    /// <summary>A piece that is a vocabulary entry as a whole is that entry, merges or not (HF's ignore_merges, Llama 3).</summary>
    public bool IgnoreMerges { get; }
    /// <summary>
    /// The file asks for Unicode normal form C first (HF's NFC normalizer, Qwen2): recorded and written back, but text is
    /// encoded as given — as llama.cpp does — since GenSharp runs with invariant globalization, where .NET does not
    /// normalize. Text that is not already NFC (rare: decomposed accents) may tokenize differently from HF tokenizers.
    /// </summary>
    public bool Nfc { get; }

    /// <inheritdoc/>
    public int[] PromptPrefix { get; init; } = [];

    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        if (_specialSplit is null) EncodeOrdinary(text, ids);
        else
            foreach (var part in _specialSplit.Split(text))
            {
                if (part.Length == 0) continue;
                if (_specials.TryGetValue(part, out int special)) ids.Add(special);
                else EncodeOrdinary(part, ids);
            }
        return ids.ToArray();
    }

    void EncodeOrdinary(string text, List<int> ids)
    {
        foreach (var piece in Splitter.Split(text))
        {
            if (!_cache.TryGetValue(piece, out var pieceIds))
            {
                pieceIds = EncodePiece(Encoding.UTF8.GetBytes(piece));
                if (_cache.Count < 100_000) _cache[piece] = pieceIds;
            }
            ids.AddRange(pieceIds);
        }
    }

    int[] EncodePiece(byte[] bytes)
    {
        if (IgnoreMerges && _ids.TryGetValue(string.Concat(bytes.Select(b => ByteToChar[b])), out int whole)) return [whole];
        var word = new List<int>(bytes.Length);
        foreach (var b in bytes) word.Add(_byteIds[b]);
        while (word.Count > 1)
        {
            // Merge the lowest-ranked pair present, everywhere it occurs, then look again.
            int bestRank = int.MaxValue, bestId = -1;
            (int, int) best = default;
            for (int i = 0; i + 1 < word.Count; i++)
                if (_merges.TryGetValue((word[i], word[i + 1]), out var m) && m.Rank < bestRank)
                    (bestRank, bestId, best) = (m.Rank, m.Id, (word[i], word[i + 1]));
            if (bestId < 0) break;
            var merged = new List<int>(word.Count);
            for (int i = 0; i < word.Count; i++)
            {
                if (i + 1 < word.Count && (word[i], word[i + 1]) == best) { merged.Add(bestId); i++; }
                else merged.Add(word[i]);
            }
            word = merged;
        }
        return word.ToArray();
    }

    public byte[] DecodeBytes(IEnumerable<int> ids)
    {
        var result = new List<byte>();
        foreach (var id in ids) result.AddRange(TokenBytes(id));
        return result.ToArray();
    }

    byte[] TokenBytes(int id)
    {
        if ((uint)id >= (uint)_tokens.Count) throw new ArgumentOutOfRangeException(nameof(id), $"token id {id} is outside the vocabulary (size {VocabSize})");
        if (_tokenBytes.TryGetValue(id, out var cached)) return cached;
        var token = _tokens[id];
        byte[] bytes;
        if (_specials.ContainsKey(token) && _specials[token] == id) bytes = Encoding.UTF8.GetBytes(token);
        else
        {
            bytes = new byte[token.Length];
            for (int i = 0; i < token.Length; i++)
            {
                int b = Array.IndexOf(ByteToChar, token[i]);
                if (b < 0) throw new InvalidOperationException($"token {id} ('{token}') has a character outside the byte alphabet");
                bytes[i] = (byte)b;
            }
        }
        _tokenBytes[id] = bytes;
        return bytes;
    }

    public void Save(string path)
    {
        var vocab = new JsonObject();
        for (int i = 0; i < _tokens.Count; i++)
            if (!_specials.ContainsKey(_tokens[i])) vocab[_tokens[i]] = i;
        var merges = new JsonArray(MergeList.Select(m => (JsonNode)JsonValue.Create($"{m.A} {m.B}")!).ToArray());
        var root = TokenizerJson.Skeleton();
        root["added_tokens"] = TokenizerJson.AddedTokens(_specials);
        root["pre_tokenizer"] = Splitter.Pattern == PreTokenizer.Gpt2Pattern
            ? new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true }
            : new JsonObject
            {
                ["type"] = "Sequence", ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Splitter.Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            };
        if (Nfc) root["normalizer"] = new JsonObject { ["type"] = "NFC" };
        root["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true };
        root["model"] = TokenizerJson.BpeModel(vocab, merges);
        root["model"]!["ignore_merges"] = IgnoreMerges;
        if (PromptPrefix.Length > 0) root["post_processor"] = TokenizerJson.PrefixProcessor(PromptPrefix.Select(id => _tokens[id]).ToArray(), PromptPrefix);
        TokenizerJson.Write(path, root);
    }
}
