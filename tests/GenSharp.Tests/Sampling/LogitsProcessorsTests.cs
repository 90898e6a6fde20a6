using GenSharp.Sampling;

namespace GenSharp.Tests.Sampling;

public sealed class LogitsProcessorsTests
{
    static readonly float[] P = [0.5f, 0.3f, 0.15f, 0.05f];
    static float[] LogP => P.Select(p => MathF.Log(p)).ToArray();
    static readonly TokenHistory Empty = new([]);

    static int[] Kept(ILogitsProcessor proc, float[] logits)
    {
        var x = (float[])logits.Clone();
        proc.Process(x, Empty);
        return Enumerable.Range(0, x.Length).Where(i => !float.IsNegativeInfinity(x[i])).ToArray();
    }

    [Theory]
    [InlineData(0.5, new[] { 0 })]            // 0.5 alone reaches 0.5
    [InlineData(0.8, new[] { 0, 1 })]         // 0.5 + 0.3 = 0.8 ≥ 0.8
    [InlineData(0.81, new[] { 0, 1, 2 })]     // 0.8 < 0.81, add 0.15
    [InlineData(1.0, new[] { 0, 1, 2, 3 })]
    public void TopPKeepsTheSmallestSetReachingP(double p, int[] kept)
    {
        // Shuffle the order so the processor has to sort: probabilities at indices 2, 0, 3, 1.
        float[] logits = [LogP[2], LogP[0], LogP[3], LogP[1]];
        int[] map = [2, 0, 3, 1];
        Assert.Equal(kept.Order(), Kept(new TopPProcessor(p), logits).Select(i => map[i]).Order());
    }

    [Theory]
    [InlineData(0.4, new[] { 0, 1 })]         // threshold 0.4 · 0.5 = 0.2
    [InlineData(0.3, new[] { 0, 1, 2 })]      // threshold 0.15: 0.15 is kept (≥)
    [InlineData(1.0, new[] { 0 })]
    public void MinPKeepsTokensAboveAFractionOfTheMaximum(double minP, int[] kept) =>
        Assert.Equal(kept, Kept(new MinPProcessor(minP), LogP));

    [Fact]
    public void TopKKeepsTheKLargest()
    {
        Assert.Equal([0, 1], Kept(new TopKProcessor(2), LogP));
        Assert.Equal([0, 1, 2, 3], Kept(new TopKProcessor(9), LogP));
    }

    [Theory]
    // H = 1.1421 nats; |−ln p − H| = 0.449, 0.062, 0.755, 1.854 → order 1, 0, 2, 3 with masses 0.3, 0.8, 0.95, 1.
    [InlineData(0.25, new[] { 1 })]
    [InlineData(0.7, new[] { 0, 1 })]
    [InlineData(0.85, new[] { 0, 1, 2 })]
    public void TypicalPKeepsTheMostTypicalTokens(double tau, int[] kept) =>
        Assert.Equal(kept, Kept(new TypicalPProcessor(tau), LogP));

    [Fact]
    public void PenaltiesFollowTheirDefinitionsOnKnownCounts()
    {
        var h = new TokenHistory([0, 1]);             // prompt saw tokens 0 and 1
        h.Add(2); h.Add(0); h.Add(0); h.Add(0);       // generated: 2 once, 0 three times
        float[] x = [2f, -2f, 1f, 0.5f];
        new RepetitionPenaltyProcessor(2).Process(x, h);
        Assert.Equal([1f, -4f, 0.5f, 0.5f], x);       // seen 0, 1, 2: positive halved, negative doubled; 3 untouched

        float[] y = [2f, -2f, 1f, 0.5f];
        new PresenceFrequencyPenaltyProcessor(presence: 0.5, frequency: 0.25).Process(y, h);
        Assert.Equal([2f - 0.5f - 0.75f, -2f, 1f - 0.5f - 0.25f, 0.5f], y);   // prompt-only token 1 untouched
    }

    [Fact]
    public void BiasBanAndTemperature()
    {
        float[] x = [1f, 2f, 3f];
        new LogitBiasProcessor(new Dictionary<int, float> { [0] = 5f }).Process(x, Empty);
        new BannedTokensProcessor([2]).Process(x, Empty);
        new TemperatureProcessor(2).Process(x, Empty);
        Assert.Equal([3f, 1f, float.NegativeInfinity], x);
    }
}
