using GenSharp.Models;
using static TorchSharp.torch;

namespace GenSharp.Tests.Models;

public sealed class GanTests
{
    [Fact]
    public void SpectralNormDividesByTheLargestSingularValue()
    {
        manual_seed(2);
        using var layer = new SpectralNorm(6, 4, kernel: 3, stride: 1, padding: 1);
        var x = randn(2, 6, 5, 5);
        for (int i = 0; i < 30; i++) layer.forward(x);   // power iteration converges over training forwards
        var w = layer.parameters().First().detach().reshape(4, -1);
        double sigma = linalg.svdvals(w)[0].item<float>();
        layer.eval();
        var expected = nn.functional.conv2d(x, layer.parameters().First() / sigma, layer.parameters().Last(), padding: [1, 1]);
        Assert.True(layer.forward(x).allclose(expected, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void MinibatchStdDevAppendsTheMeanStandardDeviationOverTheBatch()
    {
        using var layer = new MinibatchStdDev();
        var x = tensor(new float[] { 0, 2, 1, 1, 4, 4, 3, 3 }).view(2, 2, 1, 2);   // per-position pairs: (0,4) (2,4) (1,3) (1,3)
        var y = layer.forward(x);
        Assert.Equal([2L, 3, 1, 2], y.shape);
        Assert.Equal((2 + 1 + 1 + 1) / 4.0, y[1, 2, 0, 1].item<float>(), 4);       // population std of each pair, averaged
    }

    [Fact]
    public void ShapesAndClassConditioning()
    {
        var config = new GanConfig { Channels = 8, LatentDim = 8, NumClasses = 3 };
        using var g = new GanGenerator(config);
        using var d = new GanDiscriminator(config);
        var z = randn(5, 8);
        var y = tensor(new long[] { 0, 1, 2, 0, 1 });
        var images = g.forward(z, y);
        Assert.Equal([5L, 1, 28, 28], images.shape);
        Assert.True(images.abs().max().item<float>() <= 1);                  // tanh output
        Assert.Equal([5L], d.forward(images, y).shape);
        g.eval();
        Assert.False(g.forward(z, y).allclose(g.forward(z, (y + 1) % 3)));   // the class changes the image
        Assert.Throws<ArgumentException>(() => new GanConfig { ImageSize = 30 }.Validate());
    }
}
