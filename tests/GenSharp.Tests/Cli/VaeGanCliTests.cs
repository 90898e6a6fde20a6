using System.Text.Json;
using SkiaSharp;

namespace GenSharp.Tests.Cli;

/// <summary>VAE and GAN through the CLI: tiny training runs, then every command that uses them.</summary>
public sealed class VaeGanCliTests : TempDirectoryTest
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(null, args);

    [Fact]
    public void VaeTrainsThenSamplesReconstructsInterpolatesAndScoresAnomalies()
    {
        var vae = Path.Combine(_dir, "vae");
        var r = Run("train", "vae", "--out", vae, "--steps", "30", "--batch-size", "32", "--channels", "8", "--latent-dim", "4", "--hold-out", "trouser", "--checkpoint-interval", "30");
        Assert.True(r.Code == 0, r.Err);
        Assert.True(File.Exists(Path.Combine(vae, "samples.png")));

        var png = Path.Combine(_dir, "s.png");
        r = Run("generate", "--model", vae, "--n", "5", "--out", png);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("5 image(s) of unconditional", r.Out);

        r = Run("vae", "reconstruct", "--model", vae, "--images", "fashion-mnist", "--n", "12", "--out", png);
        Assert.True(r.Code == 0, r.Err);
        using (var bmp = SKBitmap.Decode(png)) Assert.Equal((10 * (28 * 3 + 2) + 2, 4 * (28 * 3 + 2) + 2), (bmp.Width, bmp.Height));   // 2 pairs of rows

        r = Run("vae", "interpolate", "--model", vae, "--from", "fashion-mnist:0", "--to", "fashion-mnist:1", "--steps", "6", "--out", png);
        Assert.True(r.Code == 0, r.Err);
        using (var bmp = SKBitmap.Decode(png)) Assert.Equal(8 * (28 * 3 + 2) + 2, bmp.Width);   // ends + 6 points

        var csv = Path.Combine(_dir, "scores.csv");
        r = Run("anomaly", "--model", vae, "--samples", "1", "--top", "3", "--json", "--out", csv);
        Assert.True(r.Code == 0, r.Err);
        using (var json = JsonDocument.Parse(r.Out))
        {
            Assert.Equal("Trouser", json.RootElement.GetProperty("anomalous_class").GetString());   // the held-out class by default
            Assert.InRange(json.RootElement.GetProperty("auroc").GetDouble(), 0, 1);
            Assert.Equal(3, json.RootElement.GetProperty("top").GetArrayLength());
        }
        Assert.Equal(10_001, File.ReadLines(csv).Count());

        r = Run("eval", "image", "--model", vae, "--n", "20", "--json");
        Assert.True(r.Code == 0, r.Err);
        using (var json = JsonDocument.Parse(r.Out))
        {
            double nats = json.RootElement.GetProperty("test_negative_elbo_nats").GetDouble();
            Assert.Equal(nats / (784 * Math.Log(2)), json.RootElement.GetProperty("test_bits_per_dim").GetDouble(), 9);
        }
    }

    [Theory]
    [InlineData("--steps must be in 2…100", "vae", "interpolate", "--from", "fashion-mnist:0", "--to", "fashion-mnist:1", "--steps", "1")]
    [InlineData("--from and --to must each name one image", "vae", "interpolate", "--from", "fashion-mnist", "--to", "fashion-mnist:1")]
    [InlineData("fashion-mnist:99999: the index must be in", "vae", "reconstruct", "--images", "fashion-mnist:99999")]
    [InlineData("unknown class 'hat'", "anomaly", "--anomalous-class", "hat")]
    [InlineData("is unconditional", "generate", "--class", "sneaker")]
    public void BadVaeRequestsAreClearErrors(string message, params string[] args)
    {
        var vae = Path.Combine(_dir, "v");
        new GenSharp.Pipelines.VaePipeline(new GenSharp.Models.Vae(new GenSharp.Models.VaeConfig { Channels = 4, LatentDim = 2 })).Save(vae);
        var r = Run([.. args.Take(args[0] == "vae" ? 2 : 1), "--model", vae, .. args.Skip(args[0] == "vae" ? 2 : 1), "--out", Path.Combine(_dir, "o.png")]);
        Assert.Equal(1, r.Code);
        Assert.Contains(message, r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public void GanTrainsThenDrawsTheRequestedClassAndResumes()
    {
        var gan = Path.Combine(_dir, "gan");
        var r = Run("train", "gan", "--out", gan, "--steps", "6", "--batch-size", "8", "--channels", "8", "--checkpoint-interval", "3");
        Assert.True(r.Code == 0, r.Err);
        r = Run("train", "gan", "--out", gan, "--resume", "--steps", "8");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("resuming", r.Out);
        Assert.Equal(8, JsonDocument.Parse(File.ReadAllText(Path.Combine(gan, "metrics.json"))).RootElement.GetProperty("step").GetInt32());

        var png = Path.Combine(_dir, "g.png");
        r = Run("generate", "--model", gan, "--class", "sneaker,bag", "--n", "2", "--out", png);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("4 image(s) of Sneaker, Bag", r.Out);
        r = Run("train", "gan", "--out", Path.Combine(_dir, "g2"), "--loss", "wasserstein");
        Assert.Equal(1, r.Code);
        Assert.Contains("unknown GAN loss 'wasserstein'", r.Err);
    }
}
