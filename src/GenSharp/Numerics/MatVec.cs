using System.Numerics.Tensors;

namespace GenSharp.Numerics;

/// <summary>
/// y = W·x for a few input rows — the products of batch-1 and small-batch decoding, where every weight is read once per
/// token and the work is bound by memory bandwidth, not arithmetic. W is row-major (out, in), as a torch Linear stores it.
/// Rows of W are split into one contiguous block per thread; each W row is dotted with every input while it is in L1, so
/// m inputs cost one pass over W. The dot products are <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>:
/// vectorised for AVX-512, AVX2 or the portable fallback, whichever the CPU has. First step of issue 15's decode path.
/// </summary>
internal static class MatVec
{
    /// <summary>
    /// <paramref name="y"/>[i, o] = Σ_k <paramref name="w"/>[o, k] · <paramref name="x"/>[i, k] for i &lt; m inputs of
    /// length <paramref name="inFeatures"/>; y is (m, out) row-major. <paramref name="threads"/> ≤ 1 runs on the caller.
    /// </summary>
    public static void Multiply(ReadOnlyMemory<float> w, ReadOnlyMemory<float> x, Memory<float> y, int inFeatures, int threads)
    {
        if (inFeatures <= 0 || w.Length % inFeatures != 0) throw new ArgumentException($"W has {w.Length} values, not a multiple of in_features {inFeatures}");
        if (x.Length % inFeatures != 0) throw new ArgumentException($"x has {x.Length} values, not a multiple of in_features {inFeatures}");
        int outFeatures = w.Length / inFeatures, m = x.Length / inFeatures;
        if (y.Length != m * outFeatures) throw new ArgumentException($"y has {y.Length} values; {m} × {outFeatures} expected");
        // Below ~64k weights a second thread costs more to wake than it saves.
        threads = Math.Clamp(Math.Min(threads, (int)(w.Length / 65_536) + 1), 1, outFeatures);
        if (threads == 1)
        {
            Rows(w.Span, x.Span, y.Span, inFeatures, outFeatures, 0, outFeatures);
            return;
        }
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            int start = (int)((long)outFeatures * t / threads), end = (int)((long)outFeatures * (t + 1) / threads);
            Rows(w.Span, x.Span, y.Span, inFeatures, outFeatures, start, end);
        });
    }

    static void Rows(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int inFeatures, int outFeatures, int start, int end)
    {
        int m = x.Length / inFeatures;
        for (int o = start; o < end; o++)
        {
            var row = w.Slice(o * inFeatures, inFeatures);
            for (int i = 0; i < m; i++) y[i * outFeatures + o] = TensorPrimitives.Dot(row, x.Slice(i * inFeatures, inFeatures));
        }
    }
}
