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
        for (; o + 4 <= end; o += 4)                       // four rows stay in L1 while every input passes them
            for (int i = 0; i < m; i++)
                Dot4(w + (long)o * inFeatures, inFeatures, x + (long)i * inFeatures, y + (long)i * outFeatures + o, path);
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

    /// <summary>y += a·x over n values (attention's weighted sum of value rows).</summary>
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

    // Four consecutive W rows against one x.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dot4(float* w, int n, float* x, float* y, SimdPath path)
    {
        float* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        if (path == SimdPath.Portable)
        {
            y[0] = Dot(w, x, n, path); y[1] = Dot(w1, x, n, path); y[2] = Dot(w2, x, n, path); y[3] = Dot(w3, x, n, path);
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
        y[0] = y0; y[1] = y1; y[2] = y2; y[3] = y3;
    }
}
