using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.IO;

/// <summary>
/// Reader and writer for the safetensors format (https://huggingface.co/docs/safetensors):
/// u64 little-endian header length N, N bytes of UTF-8 JSON, then the raw little-endian data buffer.
/// Every field of the header is validated before any tensor memory is allocated.
/// </summary>
public static class SafeTensors
{
    /// <summary>Headers above this size are rejected (the reference implementation uses 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    static readonly Dictionary<string, (ScalarType Type, int Size)> DTypes = new()
    {
        ["F64"] = (ScalarType.Float64, 8), ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2), ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8), ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2), ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1), ["BOOL"] = (ScalarType.Bool, 1),
    };

    static string DTypeName(ScalarType type) =>
        DTypes.FirstOrDefault(kv => kv.Value.Type == type).Key
        ?? throw new NotSupportedException($"dtype {type} cannot be stored in safetensors");

    /// <summary>Reads and validates the header only.</summary>
    public static (IReadOnlyList<SafeTensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata, long DataStart)
        ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        using var stream = File.OpenRead(path);
        return ReadHeader(stream, path);
    }

    static (IReadOnlyList<SafeTensorInfo>, IReadOnlyDictionary<string, string>, long) ReadHeader(Stream stream, string path)
    {
        SafeTensorsFormatException Bad(string problem) => new(path, problem);
        long fileLength = stream.Length;
        if (fileLength < 8) throw Bad($"file is {fileLength} bytes, shorter than the 8-byte header length");
        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen < 2) throw Bad($"header length {headerLen} is too small for a JSON object");
        if (headerLen > MaxHeaderBytes) throw Bad($"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit");
        if ((long)headerLen > fileLength - 8) throw Bad($"header length {headerLen} runs past the end of the {fileLength}-byte file (truncated?)");

        var headerBytes = new byte[headerLen];
        stream.ReadExactly(headerBytes);
        if (headerBytes[0] != (byte)'{') throw Bad("header does not start with '{'");
        string json;
        try { json = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(headerBytes); }
        catch (DecoderFallbackException) { throw Bad("header is not valid UTF-8"); }

        JsonDocument doc;
        try { doc = JsonDocument.Parse(json.TrimEnd(' ')); }
        catch (JsonException e) { throw Bad($"header is not valid JSON ({e.Message})"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad("header is not a JSON object");

        var tensors = new List<SafeTensorInfo>();
        var metadata = new Dictionary<string, string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(prop.Name)) throw Bad($"duplicate entry '{prop.Name}'");
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad("__metadata__ is not an object");
                foreach (var m in prop.Value.EnumerateObject())
                {
                    if (m.Value.ValueKind != JsonValueKind.String) throw Bad($"__metadata__ value '{m.Name}' is not a string");
                    metadata[m.Name] = m.Value.GetString()!;
                }
                continue;
            }
            tensors.Add(ParseEntry(prop, Bad));
        }

        // Offsets must tile the data buffer exactly: sorted, contiguous, no holes, no overlap.
        long dataStart = 8 + (long)headerLen;
        long dataLength = fileLength - dataStart;
        long expected = 0;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin != expected)
                throw Bad(t.Begin < expected
                    ? $"tensor '{t.Name}' overlaps the previous tensor (begins at {t.Begin}, expected {expected})"
                    : $"hole in data buffer before tensor '{t.Name}' (begins at {t.Begin}, expected {expected})");
            if (t.End > dataLength)
                throw Bad($"tensor '{t.Name}' ends at byte {t.End}, past the {dataLength}-byte data buffer (truncated?)");
            expected = t.End;
        }
        if (expected != dataLength)
            throw Bad($"data buffer is {dataLength} bytes but the tensors cover {expected}");
        return (tensors, metadata, dataStart);
    }

    static SafeTensorInfo ParseEntry(JsonProperty prop, Func<string, SafeTensorsFormatException> bad)
    {
        string name = prop.Name;
        if (name.Length == 0) throw bad("a tensor has an empty name");
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw bad($"entry '{name}' is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw bad($"tensor '{name}' has no string 'dtype'");
        string dtype = dt.GetString()!;
        if (!DTypes.TryGetValue(dtype, out var info)) throw bad($"tensor '{name}' has unsupported dtype '{dtype}'");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw bad($"tensor '{name}' has no 'shape' array");
        var shape = new List<long>();
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long n) || n < 0)
                throw bad($"tensor '{name}' has an invalid dimension '{d}' in its shape");
            shape.Add(n);
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw bad($"tensor '{name}' has no 'data_offsets' pair");
        var o = off.EnumerateArray().ToArray();
        if (!o[0].TryGetInt64(out long begin) || !o[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw bad($"tensor '{name}' has invalid data_offsets [{o[0]}, {o[1]}]");
        foreach (var extra in v.EnumerateObject())
            if (extra.Name is not ("dtype" or "shape" or "data_offsets"))
                throw bad($"tensor '{name}' has unknown field '{extra.Name}'");

        long count = 1;
        try { foreach (var d in shape) count = checked(count * d); count = checked(count * info.Size); }
        catch (OverflowException) { throw bad($"tensor '{name}' shape {Fmt(shape)} overflows"); }
        if (end - begin != count)
            throw bad($"tensor '{name}' has shape {Fmt(shape)} × {dtype} = {count} bytes but data_offsets span {end - begin}");
        return new SafeTensorInfo(name, dtype, shape.ToArray(), begin, end);
    }

    static string Fmt(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>Loads every tensor onto the CPU. The caller owns the returned tensors.</summary>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, out _);

    public static Dictionary<string, Tensor> Load(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        using var stream = File.OpenRead(path);
        var (infos, meta, dataStart) = ReadHeader(stream, path);
        metadata = meta;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var info in infos)
            {
                var t = empty(info.Shape, DTypes[info.DType].Type);
                long length = info.End - info.Begin;
                if (length > 0)
                {
                    stream.Position = dataStart + info.Begin;
                    ReadInto(stream, t, length);
                }
                result[info.Name] = t;
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    // Tensor.bytes is a span over the CPU tensor's own memory, so this reads straight into it.
    static void ReadInto(Stream stream, Tensor t, long length) => stream.ReadExactly(t.bytes[..checked((int)length)]);

    /// <summary>Writes tensors (in name order) atomically. Tensors may live on any device.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            long bytes = t.numel() * t.ElementSize;
            header[name] = new { dtype = DTypeName(t.dtype), shape = t.shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        // Pad the header with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
        int padded = (json.Length + 8 + 7) / 8 * 8 - 8;
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            stream.Write(len);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var name in names) WriteTensor(stream, tensors[name]);
        });
    }

    static void WriteTensor(Stream stream, Tensor t)
    {
        using var scope = NewDisposeScope();
        var cpu = t.detach().cpu().contiguous();
        if (cpu.numel() > 0) stream.Write(cpu.bytes);
    }
}
