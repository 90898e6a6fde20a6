namespace GenSharp.Tokenizers;

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
