using System.Text.Json.Nodes;
using GenSharp.Interop;
using GenSharp.Pipelines;
using GenSharp.Tests.Cli;
using static TorchSharp.torch;

namespace GenSharp.Tests.Interop;

/// <summary>Export to the Hugging Face layout: f32 bitwise, bf16 shards under a size limit with the index transformers reads, and back.</summary>
public sealed class HfExportTests : TempDirectoryTest
{
    static readonly string Bundled = Path.Combine(CliRunner.Repo(), "models", "shakespeare-char");

    [Fact]
    public void F32IsBitwiseAndBf16ShardsStayUnderTheLimitAndReadBack()
    {
        var (original, tokenizer) = ModelDirectory.Load(Bundled);
        using var _ = original;
        var f32 = Path.Combine(_dir, "f32");
        Assert.Equal(["model.safetensors"], HfCheckpoint.Export(Bundled, f32, "f32"));
        using (var back = ModelDirectory.Load(f32).Model)
            foreach (var (name, t) in back.state_dict()) Assert.True(t.equal(original.state_dict()[name]).all().item<bool>(), name);

        var bf16 = Path.Combine(_dir, "bf16");
        var files = HfCheckpoint.Export(Bundled, bf16, "bf16", maxShardBytes: 2 << 20);
        Assert.True(files.Count >= 3, $"{files.Count} shards");
        var map = JsonNode.Parse(File.ReadAllText(Path.Combine(bf16, ModelDirectory.WeightsIndexFile)))!["weight_map"]!.AsObject();
        Assert.Equal(original.state_dict().Keys.Order(), map.Select(m => m.Key).Order());
        foreach (var file in files)
        {
            var header = GenSharp.IO.SafeTensors.ReadHeader(Path.Combine(bf16, file));
            long bytes = header.Tensors.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b) * 2);
            Assert.True(bytes <= 2 << 20 || header.Tensors.Count == 1, $"{file}: {bytes} bytes");
            Assert.All(header.Tensors, t => Assert.Equal("BF16", t.DType));
        }
        Assert.Equal("bfloat16", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(bf16, "config.json")))!["torch_dtype"]);
        using (var back = ModelDirectory.Load(bf16).Model)
            foreach (var (name, t) in back.state_dict())
                Assert.True(t.equal(original.state_dict()[name].to_type(ScalarType.BFloat16).to_type(ScalarType.Float32)).all().item<bool>(), name);
        // A second export into the same directory leaves no shard of the first.
        HfCheckpoint.Export(Bundled, bf16, "f16");
        Assert.Equal(["model.safetensors"], Directory.EnumerateFiles(bf16, "model*").Select(f => Path.GetFileName(f)!).Order().ToArray());
    }

    [Fact]
    public void TheCommandLineWritesTheLayoutAndRefusesBadChoices()
    {
        var (code, output, err) = CliRunner.Run(null, "export", "--model", "models/shakespeare-char", "--format", "hf", "--dtype", "f16", "--out", Path.Combine(_dir, "hf"));
        Assert.True(code == 0, err);
        Assert.Contains("f16 weights in 1 file(s)", output);
        (code, _, err) = CliRunner.Run(null, "export", "--model", "models/shakespeare-char", "--format", "hf", "--dtype", "int4", "--out", Path.Combine(_dir, "x"));
        Assert.Equal(1, code);
        Assert.Contains("--dtype must be one of f32, bf16, f16", err);
        (code, _, err) = CliRunner.Run(null, "export", "--model", "models/shakespeare-char", "--format", "onnx2", "--out", Path.Combine(_dir, "x"));
        Assert.Equal(1, code);
        Assert.Contains("--format must be gguf, onnx or hf", err);
    }
}
