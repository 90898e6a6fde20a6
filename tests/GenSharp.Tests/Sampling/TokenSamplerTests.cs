using GenSharp.Sampling;

namespace GenSharp.Tests.Sampling;

public sealed class TokenSamplerTests
{
    static readonly TokenHistory Empty = new([]);

    [Fact]
    public void TemperatureAndTopKGiveTheExactDistribution()
    {
        var sampler = new TokenSampler(new GenerationOptions { Temperature = 2, TopK = 2, Seed = 1 });
        var probs = sampler.Probabilities([1, 2, 3, 4], Empty);
        // Top-2 keeps logits 3 and 4; at T=2 they become 1.5 and 2: p = 1/(1+e^0.5), e^0.5/(1+e^0.5).
        double p3 = 1 / (1 + Math.Exp(0.5));
        Assert.Equal([0, 0, p3, 1 - p3], probs.Select(p => (double)p), new Close(1e-6));
    }

    [Fact]
    public void TenThousandDrawsPassAChiSquareTestAgainstTheProcessedDistribution()
    {
        var options = new GenerationOptions { Temperature = 0.7, TopP = 0.95, MinP = 0.01, RepetitionPenalty = 1.3, Seed = 5 };
        float[] logits = [1.2f, 0.3f, -0.5f, 2.0f, 0.9f, -3f, 0.0f, 1.5f];
        var history = new TokenHistory([3, 7]);
        var sampler = new TokenSampler(options);
        var probs = sampler.Probabilities(logits, history);
        const int n = 10_000;
        var counts = new int[logits.Length];
        for (int i = 0; i < n; i++) counts[sampler.Sample(logits, history)]++;
        double chi2 = 0;
        int df = -1;
        for (int k = 0; k < probs.Length; k++)
        {
            if (probs[k] == 0) { Assert.Equal(0, counts[k]); continue; }   // filtered tokens never drawn
            double e = n * probs[k];
            chi2 += (counts[k] - e) * (counts[k] - e) / e;
            df++;
        }
        double[] critical999 = [10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32];   // χ² quantile 0.999, df = 1…7
        Assert.InRange(df, 2, 7);
        Assert.True(chi2 < critical999[df - 1], $"χ² = {chi2:F2} with {df} degrees of freedom");
    }

    [Fact]
    public void ZeroTemperatureIsArgmaxAfterPenaltiesAndSeedsReproduce()
    {
        var greedy = new TokenSampler(new GenerationOptions { Temperature = 0 });
        Assert.Equal(2, greedy.Sample([0.1f, 0.3f, 0.9f, 0.2f], Empty));
        var penalised = new TokenSampler(new GenerationOptions { Temperature = 0, RepetitionPenalty = 10 });
        Assert.Equal(1, penalised.Sample([0.1f, 0.3f, 0.9f, 0.2f], new TokenHistory([2])));

        var rng = new Random(1);
        var rows = Enumerable.Range(0, 200).Select(_ => Enumerable.Range(0, 10).Select(_ => (float)rng.NextDouble() * 4).ToArray()).ToArray();
        var a = new TokenSampler(new GenerationOptions { Seed = 9 });
        var b = new TokenSampler(new GenerationOptions { Seed = 9 });
        var c = new TokenSampler(new GenerationOptions { Seed = 9 }, stream: 1);
        var sa = rows.Select(r => a.Sample(r, Empty)).ToArray();
        Assert.Equal(sa, rows.Select(r => b.Sample(r, Empty)).ToArray());
        Assert.NotEqual(sa, rows.Select(r => c.Sample(r, Empty)).ToArray());
    }

    [Fact]
    public void BanningEveryTokenIsAClearError()
    {
        var s = new TokenSampler(new GenerationOptions { BannedTokens = [0, 1] });
        var e = Assert.Throws<InvalidOperationException>(() => s.Sample([1f, 2f], Empty));
        Assert.Contains("no token is possible", e.Message);
    }

    [Theory]
    [InlineData("temperature", -1.0)]
    [InlineData("temperature", double.NaN)]
    [InlineData("top-p", 0.0)]
    [InlineData("top-p", 1.5)]
    [InlineData("min-p", -0.1)]
    [InlineData("typical-p", 0.0)]
    [InlineData("repetition penalty", 0.0)]
    [InlineData("presence penalty", 3.0)]
    [InlineData("frequency penalty", double.PositiveInfinity)]
    [InlineData("max tokens", 0.0)]
    public void BadOptionsNameTheSetting(string name, double value)
    {
        var o = name switch
        {
            "temperature" => new GenerationOptions { Temperature = value },
            "top-p" => new GenerationOptions { TopP = value },
            "min-p" => new GenerationOptions { MinP = value },
            "typical-p" => new GenerationOptions { TypicalP = value },
            "repetition penalty" => new GenerationOptions { RepetitionPenalty = value },
            "presence penalty" => new GenerationOptions { PresencePenalty = value },
            "frequency penalty" => new GenerationOptions { FrequencyPenalty = value },
            _ => new GenerationOptions { MaxTokens = (int)value },
        };
        var e = Assert.Throws<ArgumentException>(() => o.Validate());
        Assert.StartsWith(name, e.Message);
    }

    [Fact]
    public void BadStopsCountsAndTokenIdsAreRejected()
    {
        Assert.Contains("stop sequence is empty", Assert.Throws<ArgumentException>(() => new GenerationOptions { Stop = ["x", ""] }.Validate()).Message);
        Assert.Contains("n must be", Assert.Throws<ArgumentException>(() => new GenerationOptions { N = 0 }.Validate()).Message);
        Assert.Contains("cannot exceed the number of beams", Assert.Throws<ArgumentException>(() => new GenerationOptions { Beams = 2, N = 3 }.Validate()).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<ArgumentException>(() => new GenerationOptions { BannedTokens = [70] }.Validate(65)).Message);
        Assert.Contains("logit bias", Assert.Throws<ArgumentException>(() => new GenerationOptions { LogitBias = new Dictionary<int, float> { [1] = 200 } }.Validate(65)).Message);
    }

    sealed class Close(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(double obj) => 0;
    }
}
