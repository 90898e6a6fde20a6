using System.Text;
using System.Text.Json.Nodes;

namespace GenSharp.Tokenizers;

/// <summary>
/// One token per Unicode scalar value, vocabulary in ordinal order (nanoGPT's shakespeare_char scheme).
/// Saved as an HF BPE model with no merges and a Fuse decoder, which HF tokenizers loads unchanged.
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    readonly string[] _tokens;
    readonly Dictionary<int, int> _ids = new();   // rune value → id

    public CharTokenizer(IEnumerable<string> tokens)
    {
        _tokens = tokens.ToArray();
        for (int i = 0; i < _tokens.Length; i++)
        {
            var runes = _tokens[i].EnumerateRunes().ToArray();
            if (runes.Length != 1) throw new ArgumentException($"char tokenizer entry {i} ('{_tokens[i]}') is not a single character");
            if (!_ids.TryAdd(runes[0].Value, i)) throw new ArgumentException($"char tokenizer has duplicate entry '{_tokens[i]}'");
        }
    }

    /// <summary>Builds the vocabulary from every distinct character of <paramref name="text"/>.</summary>
    public static CharTokenizer Train(string text) =>
        new(text.EnumerateRunes().Select(r => r.Value).Distinct().Order().Select(v => new Rune(v).ToString()));

    /// <summary>
    /// This vocabulary with <paramref name="characters"/> appended (HF's add_tokens): old ids keep their meaning, so a
    /// model resized to the new size (<see cref="Models.LlamaForCausalLM.WithVocabulary"/>) encodes old text as before.
    /// </summary>
    public CharTokenizer Extend(IEnumerable<string> characters) =>
        new([.. _tokens, .. characters.Where(c => !(c.EnumerateRunes().FirstOrDefault() is var r && _ids.ContainsKey(r.Value))).Distinct()]);

    public int VocabSize => _tokens.Length;
    public IReadOnlyDictionary<string, int> SpecialTokens { get; } = new Dictionary<string, int>();
    public IReadOnlyList<string> Tokens => _tokens;

    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (!_ids.TryGetValue(rune.Value, out int id))
                throw new ArgumentException(
                    $"character '{rune}' (U+{rune.Value:X4}) is not in this character-level tokenizer's vocabulary of {VocabSize}");
            ids.Add(id);
        }
        return ids.ToArray();
    }

    public byte[] DecodeBytes(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (size {VocabSize})");
            sb.Append(_tokens[id]);
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public void Save(string path)
    {
        var vocab = new JsonObject();
        for (int i = 0; i < _tokens.Length; i++) vocab[_tokens[i]] = i;
        var root = TokenizerJson.Skeleton();
        root["model"] = TokenizerJson.BpeModel(vocab, new JsonArray());
        root["decoder"] = new JsonObject { ["type"] = "Fuse" };
        TokenizerJson.Write(path, root);
    }
}
