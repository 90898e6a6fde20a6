using System.IO.Compression;

namespace GenSharp.Rag.Loaders;

/// <summary>
/// Gzipped documents (Debian ships man pages and many PDFs so): expanded with a cap, so a small file that expands to
/// gigabytes is refused, not expanded; a truncated stream is caught by its trailer's length.
/// </summary>
public static class Gzip
{
    public const long MaxExpandedBytes = 64 << 20;

    public static bool IsGzip(ReadOnlySpan<byte> content) => content.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]);

    public static byte[] Expand(byte[] content, long maxBytes = MaxExpandedBytes)
    {
        using var gz = new GZipStream(new MemoryStream(content), CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[81920];
        try
        {
            for (int n; (n = gz.Read(buffer)) > 0;)
            {
                if (output.Length + n > maxBytes) throw new InvalidDataException($"expands to more than {maxBytes >> 20} MiB (a gzip bomb?)");
                output.Write(buffer, 0, n);
            }
        }
        catch (InvalidDataException e) when (!e.Message.Contains("gzip bomb")) { throw new InvalidDataException($"corrupt gzip data ({e.Message})"); }
        if (content.Length < 18 || BitConverter.ToUInt32(content, content.Length - 4) != (uint)output.Length)
            throw new InvalidDataException("corrupt gzip data (truncated: the length in its trailer does not match)");
        return output.ToArray();
    }
}
