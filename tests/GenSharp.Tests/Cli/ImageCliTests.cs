using System.Text.Json;
using SkiaSharp;

namespace GenSharp.Tests.Cli;

/// <summary>Image generation and evaluation through the CLI, on the bundled diffusion model and classifier.</summary>
public sealed class ImageCliTests : TempDirectoryTest
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(null, args);

    [Fact]
    public void GenerateWritesAGridOfTheRequestedClass()
    {
        var png = Path.Combine(_dir, "sneakers.png");
        var r = Run("generate", "--model", CliRunner.Bundled("fmnist-diffusion"), "--class", "sneaker", "--n", "3", "--steps", "4", "--guidance", "2", "--out", png);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("3 image(s) of Sneaker", r.Out);
        using var bmp = SKBitmap.Decode(png);
        Assert.Equal(3 * (28 * 3 + 2) + 2, bmp.Width);   // three columns at scale 3
    }

    [Theory]
    [InlineData("unknown class 'hat'", "--class", "hat")]
    [InlineData("guidance must be in [0, 50]", "--guidance", "-1")]
    [InlineData("unknown sampler 'euler'", "--sampler", "euler")]
    [InlineData("steps must be in 1…1000", "--steps", "0")]
    public void BadImageRequestsAreClearErrors(string message, string flag, string value)
    {
        var r = Run("generate", "--model", CliRunner.Bundled("fmnist-diffusion"), flag, value, "--out", Path.Combine(_dir, "x.png"));
        Assert.Equal(1, r.Code);
        Assert.Contains(message, r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.False(File.Exists(Path.Combine(_dir, "x.png")));
    }

    [Fact]
    public void RealImagesScoreAsTheReferenceRow()
    {
        var r = Run("eval", "image", "--real", "--n", "200", "--json");
        Assert.True(r.Code == 0, r.Err);
        using var json = JsonDocument.Parse(r.Out);
        Assert.True(json.RootElement.GetProperty("class_accuracy").GetDouble() > 0.85);
        Assert.InRange(json.RootElement.GetProperty("fid_fmnist").GetDouble(), 0, 60);   // small-sample bias: ~11 at n = 500
        Assert.True(json.RootElement.GetProperty("inception_score").GetDouble() > 5);
    }
}
