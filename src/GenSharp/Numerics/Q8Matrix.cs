using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GenSharp.Numerics;

/// <summary>
/// A weight matrix (out, in) in 8-bit blocks, GGML's q8_0: each run of 32 weights of a row is stored as 32 signed bytes
/// q_i = round(w_i / d) (half away from zero) and one scale d = max|w| / 127 rounded to fp16, so the weights read back as
/// q_i · d — exactly the values llama.cpp's q8_0 holds for the same matrix. About 1.1 bytes a weight instead of 4: decode
/// streams ~3.6× fewer bytes. Products are int8 weights × fp32 inputs (the inputs are not quantized, so the only error
/// is the weights'). Memory is native and 64-byte aligned, freed by Dispose or the finalizer.
/// </summary>
internal sealed unsafe class Q8Matrix : IDisposable
{
    public const int Block = 32;

    sbyte* _q;
    float* _d;    // the fp16 scales widened once: a Half → float conversion per block would cost more than the block

    Q8Matrix(int rows, int columns)
    {
        (Rows, Columns) = (rows, columns);
        _q = (sbyte*)NativeMemory.AlignedAlloc((nuint)((long)rows * columns), 64);
        _d = (float*)NativeMemory.AlignedAlloc((nuint)((long)rows * (columns / Block) * sizeof(float)), 64);
    }

    public int Rows { get; }
    public int Columns { get; }
    public long Bytes => (long)Rows * Columns + (long)Rows * (Columns / Block) * sizeof(float);

    /// <summary>Quantizes W (rows × columns, row-major); columns must be a multiple of <see cref="Block"/>.</summary>
    public static Q8Matrix Quantize(ReadOnlySpan<float> w, int rows, int columns)
    {
        if (columns % Block != 0) throw new ArgumentException($"q8 blocks need in_features to be a multiple of {Block} (got {columns})");
        if (w.Length != (long)rows * columns) throw new ArgumentException($"W has {w.Length} values; {rows} × {columns} expected");
        var m = new Q8Matrix(rows, columns);
        var q = new Span<sbyte>(m._q, w.Length);
        for (long b = 0; b < w.Length / Block; b++)
            m._d[b] = (float)QuantizeBlock(w.Slice((int)(b * Block), Block), q.Slice((int)(b * Block), Block));
        return m;
    }

    /// <summary>One q8_0 block: writes q and returns d (ggml's quantize_row_q8_0_ref).</summary>
    public static Half QuantizeBlock(ReadOnlySpan<float> block, Span<sbyte> q)
    {
        float amax = 0;
        foreach (var v in block) amax = MathF.Max(amax, MathF.Abs(v));
        float d = amax / 127, id = d != 0 ? 1 / d : 0;
        for (int j = 0; j < block.Length; j++) q[j] = (sbyte)MathF.Round(block[j] * id, MidpointRounding.AwayFromZero);
        return (Half)d;
    }

    /// <summary>The weights as they are used: q · d (rows × columns).</summary>
    public void Dequantize(Span<float> into)
    {
        if (into.Length != (long)Rows * Columns) throw new ArgumentException($"{into.Length} values; {Rows} × {Columns} expected");
        for (int i = 0; i < into.Length; i++) into[i] = _q[i] * _d[i / Block];
    }

    /// <summary>y[i, o] = Σ_k W[o, k] · x[i, k] for rows o in [start, end) and i &lt; m; y is (m, Rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void RowsProduct(float* x, float* y, int m, int start, int end, SimdPath path)
    {
        int n = Columns, blocks = n / Block;
        int o = start;
        if (m >= 4 && n <= 8192)
        {
            // Batched decoding: four rows dequantized once into L1, then the fp32 tile kernel for all m inputs — the
            // conversion is paid once per weight, not once per weight and input, and x is read once per four rows.
            float* rows = stackalloc float[4 * n];
            for (; o + 4 <= end; o += 4)
            {
                Widen(_q + (long)o * n, _d + (long)o * blocks, rows, 4 * blocks, path);
                MatVec.Quad(rows, x, y + o, n, Rows, m, path);
            }
        }
        for (; o < end; o++)
        {
            sbyte* q = _q + (long)o * n;
            float* d = _d + (long)o * blocks;
            for (int i = 0; i < m; i++)
                y[(long)i * Rows + o] = path switch
                {
                    SimdPath.Avx512 => Dot512(q, d, x + (long)i * n, blocks),
                    SimdPath.Avx2 => Dot256(q, d, x + (long)i * n, blocks),
                    _ => DotPortable(q, d, x + (long)i * n, blocks),
                };
        }
    }

    /// <summary>Whether <see cref="RowsProductInt16"/> runs on <paramref name="path"/> on this CPU (vpmovsxbw, vpmaddwd: AVX-512BW or AVX2).</summary>
    public static bool Int16Supports(SimdPath path) => path switch
    {
        SimdPath.Avx512 => Avx512BW.IsSupported && Avx512F.IsSupported,
        SimdPath.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => false,
    };

    /// <summary>
    /// x rounded to int16 with one scale for the row: x ≈ x16 · s, s = max|x| / 32767 (returned; 0 for a zero row). The
    /// error of a value is at most s/2 — max|x|/65534, some 100× below the weights' own q8_0 rounding.
    /// </summary>
    public static float QuantizeActivations(float* x, short* x16, int n)
    {
        float amax = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(new ReadOnlySpan<float>(x, n));
        amax = MathF.Abs(amax);
        if (amax == 0 || !float.IsFinite(amax)) { new Span<short>(x16, n).Clear(); return amax == 0 ? 0 : float.NaN; }
        float s = amax / 32767, inv = 1 / s;
        int k = 0;
        if (Avx512F.IsSupported)
            for (var v = Vector512.Create(inv); k + 16 <= n; k += 16)
                Avx512F.ConvertToVector256Int16(Avx512F.ConvertToVector512Int32(Vector512.Load(x + k) * v)).Store(x16 + k);   // round to nearest
        else if (Avx2.IsSupported)
            for (var v = Vector256.Create(inv); k + 16 <= n; k += 16)   // round to nearest; |values| ≤ 32767, so narrowing keeps them
                Vector256.Narrow(Avx.ConvertToVector256Int32(Vector256.Load(x + k) * v), Avx.ConvertToVector256Int32(Vector256.Load(x + k + 8) * v)).Store(x16 + k);
        for (; k < n; k++) x16[k] = (short)MathF.Round(x[k] * inv);
        return s;
    }

    /// <summary>
    /// As <see cref="RowsProduct"/>, with the inputs as <see cref="QuantizeActivations"/> made them (x16: m rows of Columns,
    /// xScale: m scales): per block one sign extension (vpmovsxbw), one int16 multiply-add of pairs (vpmaddwd), one
    /// conversion and one FMA with the block's scale — 4 vector ops per 32 weights instead of 7, for the one-row
    /// products where the fp32 path is bound by arithmetic rather than memory. With AVX2, half as wide: 7 ops per block
    /// instead of the fp32 path's 13. <see cref="Int16Supports"/> says where it runs.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void RowsProductInt16(short* x16, float* xScale, float* y, int m, int start, int end, SimdPath path)
    {
        if (!Int16Supports(path)) throw new ArgumentException($"no int8 × int16 kernel for {SimdPaths.Describe(path)} on this CPU", nameof(path));
        bool wide = path == SimdPath.Avx512;
        int n = Columns;
        if (MatVec.Streams)
        {
            // Four rows at once from the four quarters of the part: four long sequential streams, as MatVec reads fp32.
            int quarter = (end - start) / 4;
            for (int r = 0; r < quarter; r++)
                for (int i = 0; i < m; i++)
                    Dot4Int16(start + r, quarter, x16 + (long)i * n, y + (long)i * Rows, xScale[i], wide);
            start += 4 * quarter;
        }
        for (int o = start; o < end; o++)
            for (int i = 0; i < m; i++)
                y[(long)i * Rows + o] = (wide ? RowInt16(o, x16 + (long)i * n) : RowInt16Avx2(o, x16 + (long)i * n)) * xScale[i];
    }

    // Row o against one int16 row x: Σ blocks d·(q·x16), two blocks a turn (two independent chains).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    float RowInt16(int o, short* x)
    {
        int n = Columns, blocks = n / Block, ahead = PrefetchBytes;
        sbyte* q = _q + (long)o * n;
        float* d = _d + (long)o * blocks;
        Vector512<float> acc0 = default, acc1 = default;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, q += 2 * Block, x += 2 * Block)
        {
            if (ahead > 0) Sse.Prefetch0(q + ahead);
            var p0 = Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(q)), Vector512.Load(x));
            var p1 = Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(q + Block)), Vector512.Load(x + Block));
            acc0 = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p0), Vector512.Create(d[b]), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p1), Vector512.Create(d[b + 1]), acc1);
        }
        if (b < blocks)
            acc0 = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(
                Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(q)), Vector512.Load(x))), Vector512.Create(d[b]), acc0);
        return Vector512.Sum(acc0 + acc1);
    }

    // Rows o, o + step, o + 2·step, o + 3·step against one int16 row x (scale s): y[row] = Σ blocks d·(q·x16)·s.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Dot4Int16(int o, int step, short* x, float* y, float s, bool wide)
    {
        int n = Columns, blocks = n / Block;
        long rowStep = (long)step * n, blockStep = (long)step * blocks;
        sbyte* q0 = _q + (long)o * n, q1 = q0 + rowStep, q2 = q1 + rowStep, q3 = q2 + rowStep;
        float* d0 = _d + (long)o * blocks, d1 = d0 + blockStep, d2 = d1 + blockStep, d3 = d2 + blockStep;
        float s0, s1, s2, s3;
        if (wide)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int b = 0, k = 0; b < blocks; b++, k += Block)
            {
                var xv = Vector512.Load(x + k);
                a0 = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(q0 + k)), xv)), Vector512.Create(d0[b]), a0);
                a1 = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(q1 + k)), xv)), Vector512.Create(d1[b]), a1);
                a2 = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(q2 + k)), xv)), Vector512.Create(d2[b]), a2);
                a3 = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(q3 + k)), xv)), Vector512.Create(d3[b]), a3);
            }
            (s0, s1, s2, s3) = (Vector512.Sum(a0), Vector512.Sum(a1), Vector512.Sum(a2), Vector512.Sum(a3));
        }
        else   // 256 bits: x's block loaded once for the four rows
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int b = 0, k = 0; b < blocks; b++, k += Block)
            {
                Vector256<short> lo = Vector256.Load(x + k), hi = Vector256.Load(x + k + 16);
                a0 = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Block8(q0 + k, lo, hi)), Vector256.Create(d0[b]), a0);
                a1 = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Block8(q1 + k, lo, hi)), Vector256.Create(d1[b]), a1);
                a2 = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Block8(q2 + k, lo, hi)), Vector256.Create(d2[b]), a2);
                a3 = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Block8(q3 + k, lo, hi)), Vector256.Create(d3[b]), a3);
            }
            (s0, s1, s2, s3) = (Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3));
        }
        y[o] = s0 * s;
        y[o + step] = s1 * s;
        y[o + 2 * step] = s2 * s;
        y[o + 3 * step] = s3 * s;
    }

    // RowInt16 on 256-bit vectors: per block two sign extensions, two vpmaddwd and one add make its 8 int32 sums.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    float RowInt16Avx2(int o, short* x)
    {
        int n = Columns, blocks = n / Block;
        sbyte* q = _q + (long)o * n;
        float* d = _d + (long)o * blocks;
        Vector256<float> acc = default;
        for (int b = 0; b < blocks; b++, q += Block, x += Block)
            acc = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Block8(q, Vector256.Load(x), Vector256.Load(x + 16))), Vector256.Create(d[b]), acc);
        return Vector256.Sum(acc);
    }

    // One block's 32 products q·x16 summed into 8 int32 lanes: |q| ≤ 127 and |x16| ≤ 32767, so a lane's four products
    // stay below 2^24 — exact in int32 and again as a float.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Block8(sbyte* q, Vector256<short> lo, Vector256<short> hi) =>
        Avx2.Add(Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(q), lo), Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(q + 16), hi));

    // Per block: 32 bytes sign-extended to int32 and converted (vpmovsxbd, vcvtdq2ps), dotted with x, scaled by d.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float Dot512(sbyte* q, float* d, float* x, int blocks)
    {
        Vector512<float> acc0 = default, acc1 = default;
        int b = 0, ahead = PrefetchBytes;
        for (; b + 2 <= blocks; b += 2, q += 2 * Block, x += 2 * Block)    // two blocks a turn: two independent chains
        {
            if (ahead > 0) Sse.Prefetch0(q + ahead);                           // one line a turn, a few rows ahead
            var s0 = Vector512.FusedMultiplyAdd(Widen(q + 16), Vector512.Load(x + 16), Widen(q) * Vector512.Load(x));
            var s1 = Vector512.FusedMultiplyAdd(Widen(q + 48), Vector512.Load(x + 48), Widen(q + 32) * Vector512.Load(x + 32));
            acc0 = Vector512.FusedMultiplyAdd(s0, Vector512.Create(d[b]), acc0);
            acc1 = Vector512.FusedMultiplyAdd(s1, Vector512.Create(d[b + 1]), acc1);
        }
        if (b < blocks)
            acc0 = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(Widen(q + 16), Vector512.Load(x + 16), Widen(q) * Vector512.Load(x)), Vector512.Create(d[b]), acc0);
        return Vector512.Sum(acc0 + acc1);
    }

    /// <summary>
    /// How far ahead (bytes) the int8 kernel asks for weights: the loads of a row then overlap the arithmetic of the one
    /// before instead of waiting for DRAM after it (0: off; gensharp-bench matvec --prefetch compares).
    /// </summary>
    internal static int PrefetchBytes = 1024;

    /// <summary>W[row, column … column + count) as floats into <paramref name="into"/>; column and count are multiples of <see cref="Block"/>.</summary>
    public void WidenRow(int row, int column, int count, float* into, SimdPath path)
    {
        if (column % Block != 0 || count % Block != 0) throw new ArgumentException($"a q8 row is widened in whole blocks of {Block} (column {column}, count {count})");
        long first = (long)row * Columns + column;
        Widen(_q + first, _d + first / Block, into, count / Block, path);
    }

    // q · d for `blocks` consecutive blocks into `into`.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    static void Widen(sbyte* q, float* d, float* into, int blocks, SimdPath path)
    {
        for (int b = 0; b < blocks; b++, q += Block, into += Block)
        {
            if (path == SimdPath.Avx512)
            {
                var scale = Vector512.Create(d[b]);
                (Widen(q) * scale).Store(into);
                (Widen(q + 16) * scale).Store(into + 16);
            }
            else if (path == SimdPath.Avx2)
            {
                var scale = Vector256.Create(d[b]);
                for (int j = 0; j < Block; j += 8) (Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + j)) * scale).Store(into + j);
            }
            else
                for (int j = 0; j < Block; j++) into[j] = q[j] * d[b];
        }
    }

    // 16 signed bytes → 16 floats (vpmovsxbd, vcvtdq2ps).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Widen(sbyte* q) => Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q)));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float Dot256(sbyte* q, float* d, float* x, int blocks)
    {
        Vector256<float> acc = default;
        for (int b = 0; b < blocks; b++, q += Block, x += Block)
        {
            var s = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q)) * Vector256.Load(x);
            s = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 8)), Vector256.Load(x + 8), s);
            s = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 16)), Vector256.Load(x + 16), s);
            s = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 24)), Vector256.Load(x + 24), s);
            acc = Vector256.FusedMultiplyAdd(s, Vector256.Create(d[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float DotPortable(sbyte* q, float* d, float* x, int blocks)
    {
        float acc = 0;
        for (int b = 0; b < blocks; b++, q += Block, x += Block)
        {
            float s = 0;
            for (int j = 0; j < Block; j++) s += q[j] * x[j];
            acc += s * d[b];
        }
        return acc;
    }

    ~Q8Matrix() => Dispose();

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        if (_q == null) return;
        NativeMemory.AlignedFree(_q);
        NativeMemory.AlignedFree(_d);
        _q = null;
        _d = null;
    }
}
