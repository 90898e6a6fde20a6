using System.Text;

namespace GenSharp.IO;

/// <summary>
/// A GGUF file (llama.cpp's format, versions 2 and 3): metadata key–values, then tensor descriptions, then the aligned
/// tensor data. Reading checks every count, length, dimension and offset against the bytes the file holds before
/// anything is allocated — the class of bug behind llama.cpp's GGUF CVEs — so a malformed file is an error naming the
/// problem, never a huge allocation or a read past the end. Integers read as long, floats as double; arrays as
/// long[], double[], bool[], string[] or object[] (arrays of arrays).
/// </summary>
public sealed class GgufFile
{
    public const uint Magic = 0x46554747;   // "GGUF" little-endian
    public const int DefaultAlignment = 32;
    const int MaxDims = 4, MaxArrayDepth = 4, MaxKeyBytes = 65_535;

    GgufFile(string path, uint version, Dictionary<string, object> metadata, List<GgufTensor> tensors, long dataStart, int alignment) =>
        (Path, Version, Metadata, Tensors, DataStart, Alignment) = (path, version, metadata, tensors, dataStart, alignment);

    public string Path { get; }
    public uint Version { get; }
    public IReadOnlyDictionary<string, object> Metadata { get; }
    public IReadOnlyList<GgufTensor> Tensors { get; }
    public long DataStart { get; }
    public int Alignment { get; }

    public static GgufFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        using var stream = File.OpenRead(path);
        var r = new Reader(stream, path);
        if (stream.Length < 24 || r.U32() != Magic) throw new GgufFormatException(path, "no GGUF magic at the start");
        uint version = r.U32();
        if (version is not (2 or 3)) throw new GgufFormatException(path, $"version {version} (GenSharp reads versions 2 and 3)");
        long tensorCount = r.Count("tensor count", minBytesEach: 8 + 4 + 8 + 4 + 8);
        long kvCount = r.Count("metadata count", minBytesEach: 8 + 4);
        var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
        for (long i = 0; i < kvCount; i++)
        {
            var key = r.String($"metadata key {i}", MaxKeyBytes);
            var value = r.Value(r.U32(), key, 0);
            if (!metadata.TryAdd(key, value)) throw new GgufFormatException(path, $"metadata key '{key}' appears twice");
        }
        int alignment = DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var a))
            alignment = a is long n && n is > 0 and <= 1 << 16 && (n & (n - 1)) == 0 ? (int)n
                : throw new GgufFormatException(path, $"general.alignment {a} is not a power of two up to 65536");
        var tensors = new List<GgufTensor>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < tensorCount; i++)
        {
            var name = r.String($"tensor {i}'s name", MaxKeyBytes);
            if (!names.Add(name)) throw new GgufFormatException(path, $"tensor '{name}' appears twice");
            uint nDims = r.U32();
            if (nDims is 0 or > MaxDims) throw new GgufFormatException(path, $"tensor '{name}' has {nDims} dimensions (1 to {MaxDims} allowed)");
            var dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                ulong size = r.U64();
                if (size is 0 or > 1UL << 40) throw new GgufFormatException(path, $"tensor '{name}' has dimension {d} of size {size}");
                dims[d] = (long)size;
                elements = elements <= (1L << 42) / dims[d] ? elements * dims[d] : throw new GgufFormatException(path, $"tensor '{name}' has more than 2^42 elements");
            }
            uint type = r.U32();
            if (!Enum.IsDefined((GgmlType)type)) throw new GgufFormatException(path, $"tensor '{name}' has GGML type {type} (GenSharp reads F32, F16, BF16 and Q8_0)");
            long bytes = GgmlTypes.Bytes((GgmlType)type, elements, dims[0])
                ?? throw new GgufFormatException(path, $"tensor '{name}' of type {(GgmlType)type} needs rows that are a multiple of {GgmlTypes.Q8Block} (row of {dims[0]})");
            ulong offset = r.U64();
            if (offset % (ulong)alignment != 0) throw new GgufFormatException(path, $"tensor '{name}' starts at {offset}, not a multiple of the alignment {alignment}");
            tensors.Add(new GgufTensor(name, dims, (GgmlType)type, (long)Math.Min(offset, long.MaxValue / 2), bytes));
        }
        long dataStart = (stream.Position + alignment - 1) / alignment * alignment;
        long dataBytes = stream.Length - dataStart;
        foreach (var t in tensors)
            if (t.Offset > dataBytes || t.Bytes > dataBytes - t.Offset)
                throw new GgufFormatException(path, $"tensor '{t.Name}' ({t.Bytes:N0} bytes at {t.Offset:N0}) lies beyond the end of the file ({Math.Max(0, dataBytes):N0} data bytes)");
        return new GgufFile(path, version, metadata, tensors, dataStart, alignment);
    }

    public GgufTensor Tensor(string name) => Tensors.FirstOrDefault(t => t.Name == name)
        ?? throw new GgufFormatException(Path, $"no tensor '{name}'");

    /// <summary>A tensor's values as fp32 (fp16, bf16 and q8_0 decoded), innermost dimension fastest.</summary>
    public float[] ReadFloats(GgufTensor tensor)
    {
        var bytes = new byte[tensor.Bytes];
        using var stream = File.OpenRead(Path);
        stream.Position = DataStart + tensor.Offset;
        stream.ReadExactly(bytes);
        return GgmlQuant.Decode(bytes, tensor.Type, tensor.Elements);
    }

    /// <summary>A required metadata value, with a message naming the key when it is missing or of another kind.</summary>
    public T Get<T>(string key) => Metadata.TryGetValue(key, out var v)
        ? v is T t ? t : throw new GgufFormatException(Path, $"metadata '{key}' is {Describe(v)}, not {typeof(T).Name}")
        : throw new GgufFormatException(Path, $"metadata '{key}' is missing");

    public T? Find<T>(string key) where T : class => Metadata.TryGetValue(key, out var v) ? v as T : null;

    public long? FindInteger(string key) => Metadata.TryGetValue(key, out var v) && v is long n ? n : null;

    static string Describe(object v) => v switch { string => "a string", long => "an integer", double => "a number", bool => "a bool", Array a => $"an array of {a.Length}", _ => v.GetType().Name };

    sealed class Reader(Stream stream, string path)
    {
        readonly byte[] _buffer = new byte[8];
        long Remaining => stream.Length - stream.Position;

        ReadOnlySpan<byte> Take(int n, string what)
        {
            if (Remaining < n) throw new GgufFormatException(path, $"the file ends inside {what} (at byte {stream.Position:N0})");
            stream.ReadExactly(_buffer.AsSpan(0, n));
            return _buffer.AsSpan(0, n);
        }

        public uint U32() => BitConverter.ToUInt32(Take(4, "a 32-bit field"));
        public ulong U64() => BitConverter.ToUInt64(Take(8, "a 64-bit field"));

        /// <summary>A count, refused when the entries could not fit in the bytes left.</summary>
        public long Count(string what, int minBytesEach)
        {
            ulong n = U64();
            if (n > (ulong)(Remaining / minBytesEach)) throw new GgufFormatException(path, $"{what} {n:N0} is more than the {Remaining:N0} bytes left can hold");
            return (long)n;
        }

        public string String(string what, long maxBytes = long.MaxValue)
        {
            ulong n = U64();
            if (n > (ulong)Math.Min(Remaining, maxBytes)) throw new GgufFormatException(path, $"{what}: a string of {n:N0} bytes (limit {Math.Min(Remaining, maxBytes):N0})");
            var bytes = new byte[n];
            stream.ReadExactly(bytes);
            try { return new UTF8Encoding(false, true).GetString(bytes); }
            catch (DecoderFallbackException) { throw new GgufFormatException(path, $"{what} is not valid UTF-8"); }
        }

        public object Value(uint type, string key, int depth) => type switch
        {
            0 => (long)Take(1, key)[0],
            1 => (long)(sbyte)Take(1, key)[0],
            2 => (long)BitConverter.ToUInt16(Take(2, key)),
            3 => (long)BitConverter.ToInt16(Take(2, key)),
            4 => (long)BitConverter.ToUInt32(Take(4, key)),
            5 => (long)BitConverter.ToInt32(Take(4, key)),
            6 => (double)BitConverter.ToSingle(Take(4, key)),
            7 => Take(1, key)[0] switch { 0 => false, 1 => true, var b => throw new GgufFormatException(path, $"metadata '{key}': bool byte {b}") },
            8 => String($"metadata '{key}'"),
            9 => Array(key, depth),
            10 => BitConverter.ToUInt64(Take(8, key)) is var u && u <= long.MaxValue ? (long)u : throw new GgufFormatException(path, $"metadata '{key}': {u} does not fit 63 bits"),
            11 => BitConverter.ToInt64(Take(8, key)),
            12 => BitConverter.ToDouble(Take(8, key)),
            _ => throw new GgufFormatException(path, $"metadata '{key}' has value type {type}"),
        };

        static int MinBytes(uint type) => type switch { 0 or 1 or 7 => 1, 2 or 3 => 2, 4 or 5 or 6 => 4, 8 => 8, 9 => 12, _ => 8 };

        object Array(string key, int depth)
        {
            if (depth >= MaxArrayDepth) throw new GgufFormatException(path, $"metadata '{key}' nests arrays deeper than {MaxArrayDepth}");
            uint type = U32();
            if (type > 12) throw new GgufFormatException(path, $"metadata '{key}' is an array of value type {type}");
            long n = Count($"metadata '{key}' array length", MinBytes(type));
            switch (type)
            {
                case 8: { var a = new string[n]; for (long i = 0; i < n; i++) a[i] = String($"metadata '{key}'[{i}]"); return a; }
                case 6 or 12: { var a = new double[n]; for (long i = 0; i < n; i++) a[i] = (double)Value(type, key, depth + 1); return a; }
                case 7: { var a = new bool[n]; for (long i = 0; i < n; i++) a[i] = (bool)Value(type, key, depth + 1); return a; }
                case 9: { var a = new object[n]; for (long i = 0; i < n; i++) a[i] = Array(key, depth + 1); return a; }
                default: { var a = new long[n]; for (long i = 0; i < n; i++) a[i] = (long)Value(type, key, depth + 1); return a; }
            }
        }
    }
}
