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

internal static class TokenizerExtensions
{
    /// <summary>Decodes ids to text; invalid UTF-8 becomes U+FFFD.</summary>
    public static string Decode(this ITokenizer tokenizer, IEnumerable<int> ids) =>
        System.Text.Encoding.UTF8.GetString(tokenizer.DecodeBytes(ids));
}

/// <summary>
/// Turns a stream of ids into text pieces, holding back bytes of a character that is not complete yet,
/// so streamed output never shows a broken emoji or CJK character.
/// </summary>
internal sealed class StreamingDecoder(ITokenizer tokenizer)
{
    readonly System.Text.Decoder _utf8 = System.Text.Encoding.UTF8.GetDecoder();

    /// <summary>Returns the text completed by this token (possibly empty).</summary>
    public string Push(int id)
    {
        var bytes = tokenizer.DecodeBytes([id]);
        var chars = new char[_utf8.GetCharCount(bytes, flush: false) + 2];
        int n = _utf8.GetChars(bytes, 0, bytes.Length, chars, 0, flush: false);
        return new string(chars, 0, n);
    }

    /// <summary>Emits whatever is held back (as U+FFFD if incomplete).</summary>
    public string Flush()
    {
        var chars = new char[8];
        int n = _utf8.GetChars([], 0, 0, chars, 0, flush: true);
        return new string(chars, 0, n);
    }
}
