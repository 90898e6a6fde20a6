using System.Text;

namespace GenSharp.Rag.Loaders;

/// <summary>
/// Bytes to text, detecting the encoding: a byte-order mark (UTF-8, UTF-16 LE/BE) wins; otherwise strict UTF-8; otherwise
/// Windows-1252 (Latin-1's superset, what old text files most often are). NUL bytes outside UTF-16 mean binary data,
/// which is refused rather than indexed as garbage.
/// </summary>
public static class TextDecoding
{
    static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    static TextDecoding() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    public static (string Text, string Encoding) Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) return (StrictAfterBom(bytes[3..]), "utf-8");
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE])) return (Encoding.Unicode.GetString(bytes[2..]), "utf-16le");
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])) return (Encoding.BigEndianUnicode.GetString(bytes[2..]), "utf-16be");
        int nul = bytes.IndexOf((byte)0);
        if (nul >= 0) throw new InvalidDataException($"binary data (a NUL byte at offset {nul})");
        try { return (StrictUtf8.GetString(bytes), "utf-8"); }
        catch (DecoderFallbackException) { return (Encoding.GetEncoding(1252).GetString(bytes), "windows-1252"); }
    }

    static string StrictAfterBom(ReadOnlySpan<byte> bytes)
    {
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException e) { throw new InvalidDataException($"a UTF-8 byte-order mark, then invalid UTF-8 at offset {e.Index + 3}"); }
    }
}
