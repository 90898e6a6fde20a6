using System.Buffers.Binary;
using System.IO.Compression;

namespace GenSharp.Data;

/// <summary>
/// Reader for the IDX format of (Fashion-)MNIST: magic 0x00 0x00, a type byte (0x08 = unsigned byte),
/// the number of dimensions, big-endian int32 sizes, then the data. Gzip-compressed files are read as
/// such. Every field is checked; errors name the file and the problem.
/// </summary>
internal static class IdxFile
{
    const long MaxElements = 1L << 31;

    /// <summary>The dimension sizes and the raw unsigned bytes.</summary>
    public static (int[] Shape, byte[] Data) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        byte[] raw;
        try
        {
            using var file = File.OpenRead(path);
            bool gzip = file.ReadByte() == 0x1F && file.ReadByte() == 0x8B;
            file.Position = 0;
            using Stream s = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            raw = ms.ToArray();
        }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: corrupt gzip data ({e.Message})"); }
        catch (EndOfStreamException) { throw new InvalidDataException($"{path}: truncated gzip data"); }
        return Parse(raw, path);
    }

    public static (int[] Shape, byte[] Data) Parse(ReadOnlySpan<byte> raw, string name)
    {
        if (raw.Length < 4) throw new InvalidDataException($"{name}: too short for an IDX header ({raw.Length} bytes)");
        if (raw[0] != 0 || raw[1] != 0) throw new InvalidDataException($"{name}: not an IDX file (magic bytes {raw[0]:X2} {raw[1]:X2}, expected 00 00)");
        if (raw[2] != 0x08) throw new InvalidDataException($"{name}: IDX element type 0x{raw[2]:X2} is not supported (only 0x08, unsigned byte)");
        int dims = raw[3];
        if (dims is < 1 or > 4) throw new InvalidDataException($"{name}: {dims} dimensions; expected 1 to 4");
        int header = 4 + 4 * dims;
        if (raw.Length < header) throw new InvalidDataException($"{name}: truncated header ({raw.Length} bytes, need {header})");
        var shape = new int[dims];
        long count = 1;
        for (int i = 0; i < dims; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(raw[(4 + 4 * i)..]);
            if (shape[i] <= 0) throw new InvalidDataException($"{name}: dimension {i} has size {shape[i]}");
            count *= shape[i];
            if (count > MaxElements) throw new InvalidDataException($"{name}: more than {MaxElements} elements");
        }
        long available = raw.Length - header;
        if (available < count) throw new InvalidDataException($"{name}: truncated: the header promises {count} bytes of data, the file has {available}");
        if (available > count) throw new InvalidDataException($"{name}: {available - count} unexpected bytes after the data");
        return (shape, raw[header..].ToArray());
    }
}
