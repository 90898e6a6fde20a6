using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Tests.Cli;

/// <summary>
/// <c>gensharp quantize</c> and <c>--quantize int8</c> on the bundled model, run as a user would: the directory holds q8_0
/// blocks equal to GGML's, re-opens as the same int8 model, generates the same greedy text as the in-memory int8 path,
/// and its card records the quality cost measured on held-out text.
/// </summary>
public sealed class QuantizeCliTests : TempDirectoryTest
{
    static readonly string Bundled = CliRunner.Bundled();

    [Fact]
    public void QuantizedDirectoryIsTheInt8ModelWithItsCostOnTheCard()
    {
        var heldOut = Path.Combine(_dir, "heldout.txt");
        File.WriteAllText(heldOut, File.ReadAllText(Path.Combine(CliRunner.Repo(), "data", "tinyshakespeare.txt"))[^4000..]);
        var dir = Path.Combine(_dir, "int8");
        var r = CliRunner.Run(null, "quantize", "--model", Bundled, "--out", dir, "--eval-data", heldOut);
        Assert.True(r.Code == 0, r.Err + r.Out);
        Assert.Contains("43 matrices in q8_0", r.Out);                                      // 6 layers × 7 projections + lm_head
        var card = File.ReadAllText(Path.Combine(dir, "README.md"));
        Assert.Contains("| int8 q8_0 (this model) |", card);
        Assert.Contains("Cost: +", card.Replace("Cost: -", "Cost: +"));
        Assert.True(new FileInfo(Path.Combine(dir, "model.safetensors")).Length < new FileInfo(Path.Combine(Bundled, "model.safetensors")).Length / 3);

        // The stored blocks are GGML's q8_0 of the original weights, bit for bit.
        var (original, _) = ModelDirectory.Load(Bundled);
        using var _1 = original;
        var stored = SafeTensors.Load(Path.Combine(dir, "model.safetensors"));
        var w = original.state_dict()["model.layers.2.mlp.down_proj.weight"];
        var ggml = GgmlQuant.Encode(w.data<float>().ToArray(), GgmlType.Q8_0);
        var q = stored["model.layers.2.mlp.down_proj.weight"];
        var d = stored["model.layers.2.mlp.down_proj.weight_scale"];
        Assert.Equal(ScalarType.Int8, q.dtype);
        Assert.Equal(ScalarType.Float16, d.dtype);
        var (qs, ds) = (q.data<sbyte>().ToArray(), d.data<Half>().ToArray());
        for (int b = 0; b < ds.Length; b++)
        {
            Assert.Equal(BitConverter.ToHalf(ggml, b * 34), ds[b]);
            for (int j = 0; j < 32; j++) Assert.Equal((sbyte)ggml[b * 34 + 2 + j], qs[b * 32 + j]);
        }
        Assert.Equal(ScalarType.Float32, stored["model.embed_tokens.weight"].dtype);        // untied: the embedding stays fp32

        // Re-opened, it is an int8 model: weights q·d, decoded by the int8 kernels; greedy text as the in-memory int8 path.
        var (reopened, tokenizer) = ModelDirectory.Load(dir);
        using var _2 = reopened;
        Assert.True(Int8Weights.IsApplied(reopened));
        Int8Weights.Apply(original);
        Assert.True((reopened.state_dict()["model.layers.2.mlp.down_proj.weight"] == original.state_dict()["model.layers.2.mlp.down_proj.weight"]).all().item<bool>());
        var fromDir = CliRunner.Run(null, "generate", "--model", dir, "--prompt", "ROMEO:", "--max-tokens", "40", "--temperature", "0");
        var inMemory = CliRunner.Run(null, "generate", "--model", Bundled, "--prompt", "ROMEO:", "--max-tokens", "40", "--temperature", "0", "--quantize", "int8");
        Assert.True(fromDir.Code == 0 && inMemory.Code == 0, fromDir.Err + inMemory.Err);
        Assert.Equal(inMemory.Out, fromDir.Out);
    }

    [Fact]
    public void BadRequestsAreOneLineErrors()
    {
        var r = CliRunner.Run(null, "generate", "--model", Bundled, "--prompt", "x", "--quantize", "int4");
        Assert.Equal(1, r.Code);
        Assert.Contains("--quantize 'int4' is not none or int8", r.Err);
        r = CliRunner.Run(null, "generate", "--model", Bundled, "--prompt", "x", "--quantize", "int8", "--decode", "libtorch");
        Assert.Contains("cannot be combined with --decode libtorch", r.Err);
        r = CliRunner.Run(null, "quantize", "--model", Bundled, "--out", Bundled);
        Assert.Contains("--out must be another directory", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }
}
