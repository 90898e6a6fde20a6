using GenSharp.Evaluation;
using static TorchSharp.torch;

namespace GenSharp.Tests.Evaluation;

public sealed class ImageMetricsTests
{
    [Fact]
    public void FrechetDistanceMatchesTheClosedFormForGaussians()
    {
        // a ~ N(0, diag(1, 4)), b ~ N((3, 0), diag(4, 1)): d² = 9 + (1 + 4) + (4 + 1) − 2·(√(1·4) + √(4·1)) = 11.
        var g = new Generator(1);
        const int n = 200_000;
        var a = randn(n, 2, generator: g, dtype: float64) * tensor(new double[] { 1, 2 });
        var b = randn(n, 2, generator: g, dtype: float64) * tensor(new double[] { 2, 1 }) + tensor(new double[] { 3, 0 });
        Assert.Equal(11.0, ImageMetrics.FrechetDistance(a, b), 0.15);
        Assert.Equal(0.0, ImageMetrics.FrechetDistance(a, a), 1e-6);
    }

    [Fact]
    public void InceptionScoreIsTheNumberOfClassesForConfidentBalancedPredictions()
    {
        var balanced = eye(4, dtype: float64).repeat(5, 1);          // 20 confident predictions, 5 per class
        Assert.Equal(4.0, ImageMetrics.InceptionScore(balanced), 1e-6);
        var collapsed = zeros(20, 4, dtype: float64);
        collapsed[.., 0] = tensor(1.0, float64);
        Assert.Equal(1.0, ImageMetrics.InceptionScore(collapsed), 1e-6);
    }
}
