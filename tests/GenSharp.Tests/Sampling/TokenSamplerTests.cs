using GenSharp.Sampling;
using static TorchSharp.torch;

namespace GenSharp.Tests.Sampling;

public sealed class TokenSamplerTests
{
    [Fact]
    public void TemperatureAndTopKGiveTheExactDistribution()
    {
        using var sampler = new TokenSampler(new SamplingOptions { Temperature = 2, TopK = 2, Seed = 1 });
        var probs = sampler.Probabilities(tensor(new float[] { 1, 2, 3, 4 })).data<float>().ToArray();
        // Top-2 keeps logits 3 and 4; at T=2 they become 1.5 and 2: p = 1/(1+e^0.5), e^0.5/(1+e^0.5).
        double p3 = 1 / (1 + Math.Exp(0.5));
        Assert.Equal([0, 0, p3, 1 - p3], probs.Select(p => (double)p), new Close(1e-6));
    }

    [Fact]
    public void SampleFrequenciesMatchProbabilities()
    {
        using var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, Seed = 42 });
        var logits = tensor(new float[] { 0, (float)Math.Log(2), (float)Math.Log(3), float.NegativeInfinity });   // p = 1/6, 2/6, 3/6, 0
        const int n = 30_000;
        var rows = logits.expand(n, 4);
        var ids = sampler.Sample(rows).data<long>().ToArray();
        double[] expected = [1 / 6.0, 2 / 6.0, 3 / 6.0, 0];
        for (int k = 0; k < 4; k++)
        {
            double freq = ids.Count(i => i == k) / (double)n;
            double sigma = Math.Sqrt(expected[k] * (1 - expected[k]) / n);
            Assert.InRange(freq, expected[k] - 5 * sigma - 1e-9, expected[k] + 5 * sigma + 1e-9);
        }
    }

    [Fact]
    public void ZeroTemperatureIsArgmaxAndSeedsReproduce()
    {
        using var greedy = new TokenSampler(new SamplingOptions { Temperature = 0 });
        Assert.Equal(2, greedy.Sample(tensor(new float[] { 0.1f, 0.3f, 0.9f, 0.2f })).item<long>());
        var logits = randn(1000, 10, generator: new Generator(1));
        using var a = new TokenSampler(new SamplingOptions { Seed = 9 });
        using var b = new TokenSampler(new SamplingOptions { Seed = 9 });
        Assert.Equal(a.Sample(logits).data<long>().ToArray(), b.Sample(logits).data<long>().ToArray());
    }

    [Fact]
    public void RejectsInvalidOptions()
    {
        Assert.Throws<ArgumentException>(() => new TokenSampler(new SamplingOptions { Temperature = -1 }));
        Assert.Throws<ArgumentException>(() => new TokenSampler(new SamplingOptions { Temperature = double.NaN }));
        Assert.Throws<ArgumentException>(() => new TokenSampler(new SamplingOptions { TopK = -3 }));
    }

    sealed class Close(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(double obj) => 0;
    }
}
