using System.Buffers.Binary;
using System.Text;
using GenSharp.IO;
using static TorchSharp.torch;

namespace GenSharp.Tests.IO;

public sealed class SafeTensorsTests : TempDirectoryTest
{
    [Fact]
    public void RoundTripsEveryDtypeShapeAndMetadata()
    {
        var path = Path.Combine(_dir, "a.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 4), ["f64"] = randn(2, dtype: ScalarType.Float64), ["bf16"] = randn(5, dtype: ScalarType.BFloat16),
            ["i64"] = tensor(new long[] { long.MinValue, 0, long.MaxValue }), ["u8"] = tensor(new byte[] { 0, 255 }),
            ["scalar"] = tensor(3.5f), ["empty"] = zeros(0, 7), ["bool"] = tensor(new[] { true, false }),
        };
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ✓" });
        var loaded = SafeTensors.Load(path, out var meta);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.dtype, loaded[name].dtype);
            Assert.Equal(t.shape, loaded[name].shape);
            Assert.True(t.equal(loaded[name]).all().item<bool>(), name);
        }
        Assert.Equal("ünïcode ✓", meta["note"]);
        // Header length is a multiple of 8 so the data buffer is aligned.
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes) % 8);
    }

    [Fact]
    public void SaveLeavesNoTempFilesAndReplacesAtomically()
    {
        var path = Path.Combine(_dir, "b.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = ones(2) });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["y"] = zeros(3) });
        Assert.Equal(["b.safetensors"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        Assert.Equal(["y"], SafeTensors.Load(path).Keys);
    }

    static byte[] Make(string header, int dataBytes, ulong? declaredLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "too short", new byte[5], "shorter than the 8-byte header length" },
        { "header past end", Make("{}", 0, declaredLength: 1000), "runs past the end" },
        { "header over cap", Make("{}", 0, declaredLength: 200_000_000), "exceeds the" },
        { "not json", Make("{not json", 0), "not valid JSON" },
        { "not an object", Make("[1, 2]", 0), "does not start with '{'" },
        { "bad dtype", Make("""{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}""", 1), "unsupported dtype 'F8'" },
        { "size mismatch", Make("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4), "= 8 bytes but data_offsets span 4" },
        { "negative dim", Make("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4), "invalid dimension" },
        { "hole", Make("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2), "hole in data buffer" },
        { "overlap", Make("""{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}""", 3), "overlaps" },
        { "truncated data", Make("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8), "past the 8-byte data buffer" },
        { "trailing bytes", Make("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", 5), "data buffer is 5 bytes but the tensors cover 1" },
        { "duplicate name", Make("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2), "duplicate entry 'a'" },
        { "missing offsets", Make("""{"a":{"dtype":"U8","shape":[1]}}""", 1), "no 'data_offsets'" },
        { "metadata not string", Make("""{"__metadata__":{"k":1}}""", 0), "is not a string" },
        { "bad utf8", Make("{\"\u00e9\":1}", 0).Select((b, i) => i == 10 ? (byte)0xFF : b).ToArray(), "not valid UTF-8" },
        { "shape overflow", Make("""{"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}}""", 8), "overflows" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void RejectsMalformedFileWithClearError(string name, byte[] content, string expected)
    {
        var path = Path.Combine(_dir, name.Replace(' ', '_') + ".safetensors");
        System.IO.File.WriteAllBytes(path, content);
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(path));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        var path = Path.Combine(_dir, "nope.safetensors");
        var e = Assert.Throws<FileNotFoundException>(() => SafeTensors.Load(path));
        Assert.Contains(path, e.Message);
    }
}
