using System.Text;

namespace GenSharp.IO;

/// <summary>
/// Writes a GGUF v3 file: metadata with the exact value types llama.cpp checks (u32 counts, f32 constants, i32 token
/// types, string arrays), tensor descriptions, and the tensors' data, each aligned to <see cref="GgufFile.DefaultAlignment"/>.
/// Tensors are given with their GGML dimensions (innermost first) and already encoded (<see cref="GgmlQuant.Encode"/>).
/// The file appears whole or not at all.
/// </summary>
public sealed class GgufWriter
{
    enum Kind : uint { U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9 }
    readonly List<(string Key, Kind Kind, Kind Element, object Value)> _metadata = [];
    readonly List<(string Name, long[] Dims, GgmlType Type, byte[] Data)> _tensors = [];

    public GgufWriter Set(string key, string value) => Add(key, Kind.String, Kind.String, value);
    public GgufWriter Set(string key, uint value) => Add(key, Kind.U32, Kind.U32, value);
    public GgufWriter Set(string key, float value) => Add(key, Kind.F32, Kind.F32, value);
    public GgufWriter Set(string key, bool value) => Add(key, Kind.Bool, Kind.Bool, value);
    public GgufWriter Set(string key, IReadOnlyList<string> values) => Add(key, Kind.Array, Kind.String, values);
    public GgufWriter Set(string key, IReadOnlyList<int> values) => Add(key, Kind.Array, Kind.I32, values);
    public GgufWriter Set(string key, IReadOnlyList<float> values) => Add(key, Kind.Array, Kind.F32, values);

    GgufWriter Add(string key, Kind kind, Kind element, object value)
    {
        if (_metadata.Any(m => m.Key == key)) throw new ArgumentException($"metadata '{key}' set twice");
        _metadata.Add((key, kind, element, value));
        return this;
    }

    public GgufWriter AddTensor(string name, long[] dims, GgmlType type, byte[] data)
    {
        long elements = dims.Aggregate(1L, (a, d) => a * d);
        if (GgmlTypes.Bytes(type, elements, dims[0]) != data.Length) throw new ArgumentException($"tensor '{name}': {data.Length} bytes do not hold {type} of [{string.Join(", ", dims)}]");
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' added twice");
        _tensors.Add((name, dims, type, data));
        return this;
    }

    public void Save(string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufFile.Magic);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, kind, element, value) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)kind);
            if (kind != Kind.Array) WriteScalar(w, kind, value);
            else
            {
                w.Write((uint)element);
                var items = ((System.Collections.IEnumerable)value).Cast<object>().ToList();
                w.Write((ulong)items.Count);
                foreach (var item in items) WriteScalar(w, element, item);
            }
        }
        long offset = 0;
        foreach (var (name, dims, type, data) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)dims.Length);
            foreach (var d in dims) w.Write((ulong)d);
            w.Write((uint)type);
            w.Write((ulong)offset);
            offset = Align(offset + data.Length);
        }
        Pad(w, Align(w.BaseStream.Position) - w.BaseStream.Position);
        foreach (var (_, _, _, data) in _tensors)
        {
            w.Write(data);
            Pad(w, Align(data.Length) - data.Length);
        }
    });

    static long Align(long n) => (n + GgufFile.DefaultAlignment - 1) / GgufFile.DefaultAlignment * GgufFile.DefaultAlignment;

    static void Pad(BinaryWriter w, long n) { for (long i = 0; i < n; i++) w.Write((byte)0); }

    static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    static void WriteScalar(BinaryWriter w, Kind kind, object value)
    {
        switch (kind)
        {
            case Kind.U32: w.Write((uint)value); break;
            case Kind.I32: w.Write((int)value); break;
            case Kind.F32: w.Write((float)value); break;
            case Kind.Bool: w.Write((bool)value ? (byte)1 : (byte)0); break;
            case Kind.String: WriteString(w, (string)value); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }
}
