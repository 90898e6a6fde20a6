using System.Text;
using GenSharp.IO;

namespace GenSharp.Tests.Interop;

/// <summary>The GGUF container: every value type and tensor encoding round-trips; q8_0 by hand; every malformation is refused by name before allocation.</summary>
public sealed class GgufFormatTests : TempDirectoryTest
{
    [Fact]
    public void WriterAndReaderRoundTripValuesAndTensorsInEveryEncoding()
    {
        var random = new Random(1);
        var values = Enumerable.Range(0, 64 * 3).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var path = Path.Combine(_dir, "t.gguf");
        new GgufWriter()
            .Set("general.architecture", "llama").Set("n", 7u).Set("eps", 1e-5f).Set("flag", true)
            .Set("words", ["a", "Ġb", "😀"]).Set("ints", [1, -2, 3]).Set("floats", [0.5f, -1f])
            .AddTensor("f32", [64, 3], GgmlType.F32, GgmlQuant.Encode(values, GgmlType.F32))
            .AddTensor("f16", [64, 3], GgmlType.F16, GgmlQuant.Encode(values, GgmlType.F16))
            .AddTensor("bf16", [64, 3], GgmlType.BF16, GgmlQuant.Encode(values, GgmlType.BF16))
            .AddTensor("q8", [64, 3], GgmlType.Q8_0, GgmlQuant.Encode(values, GgmlType.Q8_0))
            .Save(path);
        var f = GgufFile.Read(path);
        Assert.Equal(3u, f.Version);
        Assert.Equal("llama", f.Get<string>("general.architecture"));
        Assert.Equal(7L, f.Get<long>("n"));
        Assert.Equal(1e-5f, (float)f.Get<double>("eps"));
        Assert.True(f.Get<bool>("flag"));
        Assert.Equal(["a", "Ġb", "😀"], f.Get<string[]>("words"));
        Assert.Equal([1L, -2, 3], f.Get<long[]>("ints"));
        Assert.Equal([0.5, -1.0], f.Get<double[]>("floats"));
        Assert.Contains("is missing", Assert.Throws<GgufFormatException>(() => f.Get<string>("nothing")).Message);
        Assert.Contains("is an integer, not String", Assert.Throws<GgufFormatException>(() => f.Get<string>("n")).Message);
        Assert.All(f.Tensors, t => Assert.Equal(0, t.Offset % GgufFile.DefaultAlignment));
        Assert.Equal(values, f.ReadFloats(f.Tensor("f32")));
        Assert.Equal(values.Select(v => (float)(Half)v), f.ReadFloats(f.Tensor("f16")));
        var bf16 = f.ReadFloats(f.Tensor("bf16"));
        Assert.All(values.Zip(bf16), p => Assert.True(Math.Abs(p.First - p.Second) <= Math.Abs(p.First) / 256, $"{p.First} → {p.Second}"));
        var q8 = f.ReadFloats(f.Tensor("q8"));
        for (int b = 0; b < values.Length / 32; b++)   // each value within half a step of its block's scale
        {
            var block = values.Skip(b * 32).Take(32).ToArray();
            float d = (float)(Half)(block.Max(Math.Abs) / 127);
            for (int j = 0; j < 32; j++) Assert.True(Math.Abs(block[j] - q8[b * 32 + j]) <= d * 0.5 + block.Max(Math.Abs) * 1e-3, $"block {b}, {j}");
        }
    }

    [Fact]
    public void Q8BlocksAreTheScaleAndRoundedQuotientsByHand()
    {
        var x = Enumerable.Range(0, 32).Select(i => (i - 10) * 0.25f).ToArray();   // −2.5 … 5.25: max |x| 5.25
        var bytes = GgmlQuant.Encode(x, GgmlType.Q8_0);
        Assert.Equal(34, bytes.Length);
        float d = 5.25f / 127;
        Assert.Equal((Half)d, BitConverter.ToHalf(bytes, 0));
        for (int i = 0; i < 32; i++) Assert.Equal((sbyte)MathF.Round(x[i] / d, MidpointRounding.AwayFromZero), (sbyte)bytes[2 + i]);
        Assert.Equal(127, (sbyte)bytes[2 + 31]);
        Assert.Equal(0, (sbyte)bytes[2 + 10]);
        Assert.All(GgmlQuant.Decode(GgmlQuant.Encode(new float[32], GgmlType.Q8_0), GgmlType.Q8_0, 32), v => Assert.Equal(0f, v));   // an all-zero block
    }

    // A GGUF header written by hand, to break one field at a time.
    static byte[] Header(uint magic = GgufFile.Magic, uint version = 3, ulong tensors = 1, ulong kvs = 1, Action<BinaryWriter>? kv = null, Action<BinaryWriter>? tensor = null, int data = 64)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms, Encoding.UTF8);
        w.Write(magic); w.Write(version); w.Write(tensors); w.Write(kvs);
        (kv ?? (b => { Str(b, "general.architecture"); b.Write(8u); Str(b, "llama"); }))(w);
        (tensor ?? (b => { Str(b, "t"); b.Write(1u); b.Write(16UL); b.Write(0u); b.Write(0UL); }))(w);
        while (ms.Length % 32 != 0) w.Write((byte)0);
        w.Write(new byte[data]);
        return ms.ToArray();
    }

    static void Str(BinaryWriter w, string s) { var b = Encoding.UTF8.GetBytes(s); w.Write((ulong)b.Length); w.Write(b); }

    [Fact]
    public void MalformedFilesAreRefusedWithTheProblemNamed()
    {
        string Error(byte[] bytes)
        {
            var path = Path.Combine(_dir, "bad.gguf");
            File.WriteAllBytes(path, bytes);
            return Assert.Throws<GgufFormatException>(() => GgufFile.Read(path)).Message;
        }
        Assert.Equal(16, GgufFile.Read(WriteTo(Header())).Tensors.Single().Elements);   // the well-formed base case reads
        Assert.Contains("no GGUF magic", Error(Header(magic: 0x12345678)));
        Assert.Contains("version 1", Error(Header(version: 1)));
        Assert.Contains("tensor count 1,000,000,000,000 is more than", Error(Header(tensors: 1_000_000_000_000)));
        Assert.Contains("metadata count", Error(Header(kvs: ulong.MaxValue)));
        Assert.Contains("a string of 18,446,744,073,709,551,615 bytes", Error(Header(kv: b => { b.Write(ulong.MaxValue); })));
        Assert.Contains("array length", Error(Header(kv: b => { Str(b, "a"); b.Write(9u); b.Write(4u); b.Write(1UL << 60); })));
        Assert.Contains("nests arrays deeper", Error(Header(kv: b => { Str(b, "a"); b.Write(9u); for (int i = 0; i < 5; i++) { b.Write(9u); b.Write(1UL); } })));
        Assert.Contains("value type 99", Error(Header(kv: b => { Str(b, "a"); b.Write(99u); })));
        Assert.Contains("bool byte 7", Error(Header(kv: b => { Str(b, "a"); b.Write(7u); b.Write((byte)7); })));
        Assert.Contains("not valid UTF-8", Error(Header(kv: b => { b.Write(2UL); b.Write((byte)0xC3); b.Write((byte)0x28); b.Write(8u); Str(b, "x"); })));
        Assert.Contains("appears twice", Error(Header(kvs: 2, kv: b => { for (int i = 0; i < 2; i++) { Str(b, "k"); b.Write(4u); b.Write(1u); } })));
        Assert.Contains("alignment", Error(Header(kv: b => { Str(b, "general.alignment"); b.Write(4u); b.Write(24u); })));
        Assert.Contains("5 dimensions", Error(Header(tensor: b => { Str(b, "t"); b.Write(5u); })));
        Assert.Contains("dimension 0 of size 0", Error(Header(tensor: b => { Str(b, "t"); b.Write(1u); b.Write(0UL); })));
        Assert.Contains("more than 2^42 elements", Error(Header(tensor: b => { Str(b, "t"); b.Write(2u); b.Write(1UL << 30); b.Write(1UL << 30); })));
        Assert.Contains("GGML type 12", Error(Header(tensor: b => { Str(b, "t"); b.Write(1u); b.Write(16UL); b.Write(12u); b.Write(0UL); })));
        Assert.Contains("multiple of 32 (row of 16)", Error(Header(tensor: b => { Str(b, "t"); b.Write(1u); b.Write(16UL); b.Write(8u); b.Write(0UL); })));
        Assert.Contains("not a multiple of the alignment", Error(Header(tensor: b => { Str(b, "t"); b.Write(1u); b.Write(16UL); b.Write(0u); b.Write(4UL); })));
        Assert.Contains("beyond the end of the file", Error(Header(data: 32)));
        Assert.Contains("beyond the end of the file", Error(Header(tensor: b => { Str(b, "t"); b.Write(1u); b.Write(16UL); b.Write(0u); b.Write(1UL << 62); })));
        Assert.Contains("the file ends inside", Error(Header()[..54]));   // inside the first value's type
    }

    string WriteTo(byte[] bytes)
    {
        var path = Path.Combine(_dir, "ok.gguf");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
