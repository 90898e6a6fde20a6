using GenSharp.Models;
using static TorchSharp.torch;

namespace GenSharp.Tests.Models;

public sealed class KvCacheTests
{
    static readonly LlamaConfig Small = new() { VocabSize = 50, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, MaxPositions = 16 };

    static LlamaForCausalLM Build(LlamaConfig c)
    {
        var m = new LlamaForCausalLM(c);
        m.InitializeWeights(7);
        m.eval();
        return m;
    }

    static Tensor Ids(params long[] ids) => tensor(ids).unsqueeze(0);

    [Fact]
    public void PrefillThenTokenByTokenEqualsFullForward()
    {
        using var m = Build(Small);
        using var cache = new KvCache(Small, slots: 3);
        using var _ = no_grad();
        long[] seq = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 3];
        var full = m.forward(Ids(seq))[0];                                   // (T, V)
        var prefill = m.forward(Ids(seq[..5]), cache.Begin([1], 5))[0];
        Assert.True(prefill.allclose(full[..5], rtol: 1e-4, atol: 1e-5));
        for (int t = 5; t < seq.Length; t++)
        {
            var step = m.forward(Ids(seq[t]), cache.Begin([1], 1))[0, 0];
            Assert.True(step.allclose(full[t], rtol: 1e-4, atol: 1e-5), $"position {t}");
        }
        Assert.Equal(seq.Length, cache.Length(1));
        Assert.Equal(0, cache.Length(0));
    }

    [Fact]
    public void RowsOfDifferentLengthsInAnySlotOrderMatchSeparateRuns()
    {
        using var m = Build(Small);
        using var cache = new KvCache(Small, slots: 4);
        using var _ = no_grad();
        long[] a = [1, 2, 3, 4, 5, 6, 7], b = [9, 8, 7];
        m.forward(Ids(a), cache.Begin([3], a.Length));
        m.forward(Ids(b), cache.Begin([0], b.Length));
        // Decode the two rows together, slot 3 first (non-contiguous, unequal lengths → masked).
        var both = m.forward(tensor(new long[,] { { 11 }, { 12 } }), cache.Begin([3, 0], 1));
        var refA = m.forward(Ids([.. a, 11]))[0, -1];
        var refB = m.forward(Ids([.. b, 12]))[0, -1];
        Assert.True(both[0, 0].allclose(refA, rtol: 1e-4, atol: 1e-5));
        Assert.True(both[1, 0].allclose(refB, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void CopiedSlotContinuesLikeTheOriginal()
    {
        using var m = Build(Small);
        using var cache = new KvCache(Small, slots: 3);
        using var _ = no_grad();
        m.forward(Ids(4, 5, 6), cache.Begin([0], 3));
        cache.Copy([0, 0], [1, 2]);
        var three = m.forward(tensor(new long[,] { { 7 }, { 7 }, { 8 } }), cache.Begin([0, 1, 2], 1));
        Assert.True(three[0].allclose(three[1]));
        Assert.True(three[2, 0].allclose(m.forward(Ids(4, 5, 6, 8))[0, -1], rtol: 1e-4, atol: 1e-5));
        cache.Reset(2);
        Assert.Equal(0, cache.Length(2));
        var fresh = m.forward(Ids(9), cache.Begin([2], 1));                  // stale entries must be invisible
        Assert.True(fresh[0, 0].allclose(m.forward(Ids(9))[0, 0], rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void OverflowingTheContextOrBadSlotsIsAClearError()
    {
        using var cache = new KvCache(Small, slots: 2);
        cache.Begin([0], 10);
        var e = Assert.Throws<ArgumentException>(() => cache.Begin([0], 7));
        Assert.Contains("exceed the context of 16", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Begin([2], 1));
        Assert.Throws<ArgumentException>(() => cache.Begin([1, 1], 1));
    }
}
