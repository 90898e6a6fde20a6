using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace GenSharp.Numerics;

/// <summary>
/// y = W·x for a few input rows — the products of batch-1 and small-batch decoding, where every weight is read once per
/// token and the work is bound by memory bandwidth, not arithmetic. W is row-major (out, in), as a torch Linear stores it,
/// and is read in place (libtorch's memory or a pinned array). A caller splits the output rows over threads and calls
/// <see cref="Rows"/> on each part. Four W rows are dotted at once (four independent FMA chains, x loaded once for all
/// four), with every input while those rows are in L1, so m rows of x cost one pass over W. Kernels are compiled fully optimized from the first call (AggressiveOptimization): their
/// tier-0 code runs Vector512 loops several times slower, and a generation would spend its first ~100 ms on it.
/// </summary>
internal static unsafe class MatVec
{
    /// <summary>
    /// y[i, o] = Σ_k w[o, k] · x[i, k] for o in [<paramref name="start"/>, <paramref name="end"/>) and i &lt; m;
    /// y is (m, <paramref name="outFeatures"/>) row-major.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(float* w, float* x, float* y, int inFeatures, int outFeatures, int m, int start, int end, SimdPath path)
    {
        int o = start;
        if (m < 4 && path != SimdPath.Portable && Streams)
        {
            // One to three rows (decoding): the four rows dotted at once come from the four quarters of the part, so the
            // part is read as four long sequential streams — the hardware prefetchers then run far ahead — rather than
            // one pass that restarts every few KiB (gensharp-bench matvec --streams: 53 → 66 GB/s on an EPYC).
            int quarter = (end - start) / 4;
            long stride = (long)quarter * inFeatures;
            for (int r = 0; r < quarter; r++)
                for (int i = 0; i < m; i++)
                    Dot4(w + (long)(start + r) * inFeatures, stride, inFeatures, x + (long)i * inFeatures, y + (long)i * outFeatures + start + r, quarter, path);
            o = start + 4 * quarter;
        }
        for (; o + 4 <= end; o += 4) Quad(w + (long)o * inFeatures, x, y + o, inFeatures, outFeatures, m, path);
        for (; o < end; o++)
        {
            float* row = w + (long)o * inFeatures;
            for (int i = 0; i < m; i++) y[(long)i * outFeatures + o] = Dot(row, x + (long)i * inFeatures, inFeatures, path);
        }
    }

    /// <summary>
    /// The same product over managed arrays, rows split over <paramref name="threads"/> (≤ 1: the caller alone). For
    /// tests and benchmarks; the decoder calls <see cref="Rows"/> from its own thread team.
    /// </summary>
    public static void Multiply(float[] w, float[] x, float[] y, int inFeatures, int threads, SimdPath? path = null)
    {
        if (inFeatures <= 0 || w.Length % inFeatures != 0) throw new ArgumentException($"W has {w.Length} values, not a multiple of in_features {inFeatures}");
        if (x.Length % inFeatures != 0) throw new ArgumentException($"x has {x.Length} values, not a multiple of in_features {inFeatures}");
        int outFeatures = w.Length / inFeatures, m = x.Length / inFeatures;
        if (y.Length != m * outFeatures) throw new ArgumentException($"y has {y.Length} values; {m} × {outFeatures} expected");
        var p = path ?? SimdPaths.Detect();
        threads = Math.Clamp(threads, 1, Math.Max(1, outFeatures));
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            fixed (float* pw = w, px = x, py = y)
                Rows(pw, px, py, inFeatures, outFeatures, m, (int)((long)outFeatures * t / threads), (int)((long)outFeatures * (t + 1) / threads), p);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(float* a, float* b, int n, SimdPath path)
    {
        int k = 0;
        float sum = 0;
        if (path == SimdPath.Avx512)
        {
            Vector512<float> s0 = default, s1 = default;
            for (; k + 32 <= n; k += 32)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + k), Vector512.Load(b + k), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + k + 16), Vector512.Load(b + k + 16), s1);
            }
            if (k + 16 <= n) { s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + k), Vector512.Load(b + k), s0); k += 16; }
            sum = Vector512.Sum(s0 + s1);
        }
        else if (path == SimdPath.Avx2)
        {
            Vector256<float> s0 = default, s1 = default;
            for (; k + 16 <= n; k += 16)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + k), Vector256.Load(b + k), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + k + 8), Vector256.Load(b + k + 8), s1);
            }
            if (k + 8 <= n) { s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + k), Vector256.Load(b + k), s0); k += 8; }
            sum = Vector256.Sum(s0 + s1);
        }
        else
        {
            Vector128<float> s0 = default;
            for (; k + 4 <= n; k += 4) s0 += Vector128.Load(a + k) * Vector128.Load(b + k);
            sum = Vector128.Sum(s0);
        }
        for (; k < n; k++) sum += a[k] * b[k];
        return sum;
    }

    /// <summary>
    /// Four consecutive W rows (from <paramref name="w"/>) against all m inputs; y points at column o of row 0 of y (m, out).
    /// Four rows stay in L1 while every input passes them; with AVX-512, inputs go four at a time through a 4 × 4 tile
    /// (16 accumulators, 8 loads per 16 FMAs), with AVX2 two at a time (4 × 2), which batched decoding needs: one input
    /// at a time reads x from L2 for every four rows.
    /// </summary>
    public static void Quad(float* w, float* x, float* y, int inFeatures, int outFeatures, int m, SimdPath path)
    {
        int i = 0;
        if (path == SimdPath.Avx512)
            for (; i + 4 <= m; i += 4)
                Tile4x4(w, x + (long)i * inFeatures, y + (long)i * outFeatures, inFeatures, outFeatures);
        else if (path == SimdPath.Avx2 && Tiles)
            for (; i + 2 <= m; i += 2)
                Tile4x2(w, x + (long)i * inFeatures, y + (long)i * outFeatures, inFeatures, outFeatures);
        for (; i < m; i++) Dot4(w, inFeatures, inFeatures, x + (long)i * inFeatures, y + (long)i * outFeatures, 1, path);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4(float* w, float* x, float* y, int n, int outFeatures)
    {
        float* w1 = w + n, w2 = w1 + n, w3 = w2 + n, x1 = x + n, x2 = x1 + n, x3 = x2 + n;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default,
            a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        int k = 0;
        for (; k + 16 <= n; k += 16)
        {
            Vector512<float> r0 = Vector512.Load(w + k), r1 = Vector512.Load(w1 + k), r2 = Vector512.Load(w2 + k), r3 = Vector512.Load(w3 + k);
            var v = Vector512.Load(x + k);
            a00 = Vector512.FusedMultiplyAdd(r0, v, a00); a01 = Vector512.FusedMultiplyAdd(r1, v, a01);
            a02 = Vector512.FusedMultiplyAdd(r2, v, a02); a03 = Vector512.FusedMultiplyAdd(r3, v, a03);
            v = Vector512.Load(x1 + k);
            a10 = Vector512.FusedMultiplyAdd(r0, v, a10); a11 = Vector512.FusedMultiplyAdd(r1, v, a11);
            a12 = Vector512.FusedMultiplyAdd(r2, v, a12); a13 = Vector512.FusedMultiplyAdd(r3, v, a13);
            v = Vector512.Load(x2 + k);
            a20 = Vector512.FusedMultiplyAdd(r0, v, a20); a21 = Vector512.FusedMultiplyAdd(r1, v, a21);
            a22 = Vector512.FusedMultiplyAdd(r2, v, a22); a23 = Vector512.FusedMultiplyAdd(r3, v, a23);
            v = Vector512.Load(x3 + k);
            a30 = Vector512.FusedMultiplyAdd(r0, v, a30); a31 = Vector512.FusedMultiplyAdd(r1, v, a31);
            a32 = Vector512.FusedMultiplyAdd(r2, v, a32); a33 = Vector512.FusedMultiplyAdd(r3, v, a33);
        }
        float* y1 = y + outFeatures, y2 = y1 + outFeatures, y3 = y2 + outFeatures;
        y[0] = Vector512.Sum(a00); y[1] = Vector512.Sum(a01); y[2] = Vector512.Sum(a02); y[3] = Vector512.Sum(a03);
        y1[0] = Vector512.Sum(a10); y1[1] = Vector512.Sum(a11); y1[2] = Vector512.Sum(a12); y1[3] = Vector512.Sum(a13);
        y2[0] = Vector512.Sum(a20); y2[1] = Vector512.Sum(a21); y2[2] = Vector512.Sum(a22); y2[3] = Vector512.Sum(a23);
        y3[0] = Vector512.Sum(a30); y3[1] = Vector512.Sum(a31); y3[2] = Vector512.Sum(a32); y3[3] = Vector512.Sum(a33);
        for (; k < n; k++)                                   // the tail of in_features past the last 16
            for (int r = 0; r < 4; r++)
            {
                float wk = w[(long)r * n + k];
                y[r] += wk * x[k]; y1[r] += wk * x1[k]; y2[r] += wk * x2[k]; y3[r] += wk * x3[k];
            }
    }

    // AVX2's tile: 16 registers hold 8 accumulators, the four W rows and an input (a 4 × 4 tile would spill): 6 loads per
    // 8 FMAs instead of 5 per 4 one input at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x2(float* w, float* x, float* y, int n, int outFeatures)
    {
        float* w1 = w + n, w2 = w1 + n, w3 = w2 + n, x1 = x + n;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        int k = 0;
        for (; k + 8 <= n; k += 8)
        {
            Vector256<float> r0 = Vector256.Load(w + k), r1 = Vector256.Load(w1 + k), r2 = Vector256.Load(w2 + k), r3 = Vector256.Load(w3 + k);
            var v = Vector256.Load(x + k);
            a00 = Vector256.FusedMultiplyAdd(r0, v, a00); a01 = Vector256.FusedMultiplyAdd(r1, v, a01);
            a02 = Vector256.FusedMultiplyAdd(r2, v, a02); a03 = Vector256.FusedMultiplyAdd(r3, v, a03);
            v = Vector256.Load(x1 + k);
            a10 = Vector256.FusedMultiplyAdd(r0, v, a10); a11 = Vector256.FusedMultiplyAdd(r1, v, a11);
            a12 = Vector256.FusedMultiplyAdd(r2, v, a12); a13 = Vector256.FusedMultiplyAdd(r3, v, a13);
        }
        float* y1 = y + outFeatures;
        y[0] = Vector256.Sum(a00); y[1] = Vector256.Sum(a01); y[2] = Vector256.Sum(a02); y[3] = Vector256.Sum(a03);
        y1[0] = Vector256.Sum(a10); y1[1] = Vector256.Sum(a11); y1[2] = Vector256.Sum(a12); y1[3] = Vector256.Sum(a13);
        for (; k < n; k++)                                   // the tail of in_features past the last 8
            for (int r = 0; r < 4; r++)
            {
                float wk = w[(long)r * n + k];
                y[r] += wk * x[k]; y1[r] += wk * x1[k];
            }
    }

    /// <summary>
    /// y = Σ_j p[j] · v[j, ·] over <paramref name="rows"/> rows of <paramref name="width"/> values (attention's probabilities
    /// × values): a slice of y stays in registers while every row passes, 64 values at a time with AVX-512, 32 with AVX2,
    /// 16 on the portable path — not loaded and stored again for each row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightedSum(float* p, float* v, int rows, int width, float* y, SimdPath path)
    {
        int c = 0;
        if (path == SimdPath.Avx512)
            for (; c + 64 <= width; c += 64)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int j = 0; j < rows; j++)
                {
                    float* r = v + (long)j * width + c;
                    var pj = Vector512.Create(p[j]);
                    a0 = Vector512.FusedMultiplyAdd(pj, Vector512.Load(r), a0); a1 = Vector512.FusedMultiplyAdd(pj, Vector512.Load(r + 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(pj, Vector512.Load(r + 32), a2); a3 = Vector512.FusedMultiplyAdd(pj, Vector512.Load(r + 48), a3);
                }
                a0.Store(y + c); a1.Store(y + c + 16); a2.Store(y + c + 32); a3.Store(y + c + 48);
            }
        if (path != SimdPath.Portable)
            for (int n; c + 8 <= width; c += 8 * n)
            {
                n = Math.Min(4, (width - c) / 8);   // 1–4 vectors of y
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int j = 0; j < rows; j++)
                {
                    float* r = v + (long)j * width + c;
                    var pj = Vector256.Create(p[j]);
                    a0 = Vector256.FusedMultiplyAdd(pj, Vector256.Load(r), a0);
                    if (n > 1) a1 = Vector256.FusedMultiplyAdd(pj, Vector256.Load(r + 8), a1);
                    if (n > 2) a2 = Vector256.FusedMultiplyAdd(pj, Vector256.Load(r + 16), a2);
                    if (n > 3) a3 = Vector256.FusedMultiplyAdd(pj, Vector256.Load(r + 24), a3);
                }
                a0.Store(y + c);
                if (n > 1) a1.Store(y + c + 8);
                if (n > 2) a2.Store(y + c + 16);
                if (n > 3) a3.Store(y + c + 24);
            }
        else
            for (; c + 4 <= width; c += 4)
            {
                Vector128<float> a = default;
                for (int j = 0; j < rows; j++) a += Vector128.Create(p[j]) * Vector128.Load(v + (long)j * width + c);
                a.Store(y + c);
            }
        for (; c < width; c++)
        {
            float sum = 0;
            for (int j = 0; j < rows; j++) sum += p[j] * v[(long)j * width + c];
            y[c] = sum;
        }
    }

    /// <summary>y += a·x over n values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(float a, float* x, float* y, int n, SimdPath path)
    {
        int k = 0;
        if (path == SimdPath.Avx512)
        {
            var av = Vector512.Create(a);
            for (; k + 16 <= n; k += 16) Vector512.FusedMultiplyAdd(av, Vector512.Load(x + k), Vector512.Load(y + k)).Store(y + k);
        }
        else if (path == SimdPath.Avx2)
        {
            var av = Vector256.Create(a);
            for (; k + 8 <= n; k += 8) Vector256.FusedMultiplyAdd(av, Vector256.Load(x + k), Vector256.Load(y + k)).Store(y + k);
        }
        else
        {
            var av = Vector128.Create(a);
            for (; k + 4 <= n; k += 4) (Vector128.Load(y + k) + av * Vector128.Load(x + k)).Store(y + k);
        }
        for (; k < n; k++) y[k] += a * x[k];
    }

    /// <summary>Whether AVX2 products of two rows or more take two inputs at a time (off: one; for the bench).</summary>
    internal static bool Tiles = true;

    /// <summary>Whether one- to three-row products (fp32 here, int8 × int16 in <see cref="Q8Matrix"/>) read their part as four streams (off: in order; for the bench).</summary>
    internal static bool Streams = true;

    // Four W rows, `stride` floats apart, against one x (n values); their results go to y[0], y[step], y[2·step], y[3·step].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dot4(float* w, long stride, int n, float* x, float* y, int step, SimdPath path)
    {
        float* w1 = w + stride, w2 = w1 + stride, w3 = w2 + stride;
        if (path == SimdPath.Portable)
        {
            y[0] = Dot(w, x, n, path); y[step] = Dot(w1, x, n, path); y[2 * step] = Dot(w2, x, n, path); y[3 * step] = Dot(w3, x, n, path);
            return;
        }
        int k = 0;
        float y0 = 0, y1 = 0, y2 = 0, y3 = 0;
        if (path == SimdPath.Avx512)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; k + 16 <= n; k += 16)
            {
                var xv = Vector512.Load(x + k);
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + k), xv, s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + k), xv, s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + k), xv, s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + k), xv, s3);
            }
            (y0, y1, y2, y3) = (Vector512.Sum(s0), Vector512.Sum(s1), Vector512.Sum(s2), Vector512.Sum(s3));
        }
        else if (path == SimdPath.Avx2)
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; k + 8 <= n; k += 8)
            {
                var xv = Vector256.Load(x + k);
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(w + k), xv, s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(w1 + k), xv, s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Load(w2 + k), xv, s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Load(w3 + k), xv, s3);
            }
            (y0, y1, y2, y3) = (Vector256.Sum(s0), Vector256.Sum(s1), Vector256.Sum(s2), Vector256.Sum(s3));
        }
        for (; k < n; k++)
        {
            float xk = x[k];
            y0 += w[k] * xk; y1 += w1[k] * xk; y2 += w2[k] * xk; y3 += w3[k] * xk;
        }
        y[0] = y0; y[step] = y1; y[2 * step] = y2; y[3 * step] = y3;
    }
}
