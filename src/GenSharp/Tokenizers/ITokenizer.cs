namespace GenSharp.Tokenizers;

/// <summary>Maps text to token ids and back. Implementations save to and load from HF <c>tokenizer.json</c>.</summary>
public interface ITokenizer
{
    /// <summary>Number of ids the model's embedding must cover (including special tokens).</summary>
    int VocabSize { get; }

    /// <summary>Special tokens (e.g. <c>&lt;|endoftext|&gt;</c>) by content.</summary>
    IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Encodes text. Special-token strings inside <paramref name="text"/> map to their ids.</summary>
    int[] Encode(string text);

    /// <summary>The UTF-8 bytes a sequence of ids stands for (may end inside a multi-byte character).</summary>
    byte[] DecodeBytes(IEnumerable<int> ids);

    /// <summary>Writes the HF <c>tokenizer.json</c> representation.</summary>
    void Save(string path);
}

