using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GenSharp.Numerics;

/// <summary>
/// Y = X·Wᵀ for many input rows — prompt processing, where each weight meets hundreds of tokens and the work is bound by
/// arithmetic, not memory. W is (out, in) row-major as a torch Linear stores it (fp32 in place, or q8_0 blocks widened
/// while packing), X is (m, in), Y (m, out); a caller splits the output columns over threads and calls <see cref="Rows"/>
/// on each part, as for <see cref="MatVec.Rows"/>.
/// <para>
/// The blocking is Goto's (Goto &amp; van de Geijn, "Anatomy of high-performance matrix multiplication", 2008): the
/// depth is cut into blocks of <see cref="DepthBlock"/>; a block of X rows is packed into strips of
/// <see cref="KernelRows"/> rows, depth-major (stays in L2), and a strip of W's output columns into depth-major panels of
/// <see cref="KernelColumns"/> (stays in L1); a micro-kernel keeps a KernelRows × KernelColumns tile of Y in registers
/// and, per depth step, loads one panel row and broadcasts one X value per tile row: 2·MR FMAs for 2 vector loads
/// (AVX-512: 12 × 32, 24 accumulators of the 32 registers; AVX2: 6 × 16). No horizontal sums, W read once per X block.
/// </para>
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>Depth of a block: a packed W panel (256 × 32 floats, 32 KiB) fits L1, an X block (RowBlock × 256) L2.</summary>
    public const int DepthBlock = 256;

    /// <summary>
    /// X rows packed at once (512 × 256 floats = 512 KiB, within every L2 here): a whole prefill pass, so each W panel
    /// is packed once per depth block — a second, smaller row block would pack every panel again for a few rows.
    /// </summary>
    public const int RowBlock = 512;

    /// <summary>The micro-kernel's tile: rows of X (broadcast) × output columns (vectors).</summary>
    public static int KernelRows(SimdPath path) => path == SimdPath.Avx512 ? 12 : 6;

    public static int KernelColumns(SimdPath path) => path == SimdPath.Avx512 ? 32 : 16;

    /// <summary>Whether this path has a micro-kernel (the portable path uses <see cref="MatVec"/>).</summary>
    public static bool Supports(SimdPath path) => path is SimdPath.Avx512 or SimdPath.Avx2;

    /// <summary>Floats of scratch one caller (thread) needs: its packed X block and W panel.</summary>
    public const long ScratchFloats = (RowBlock + 12) * DepthBlock + DepthBlock * 32 + 12 * 32;

    /// <summary>
    /// y[i, o] = Σ_k W[o, k] · x[i, k] for o in [<paramref name="start"/>, <paramref name="end"/>) and i &lt; m; W is
    /// <paramref name="w"/> (out × in, fp32) or <paramref name="q8"/> when not null. <paramref name="scratch"/>: at
    /// least <see cref="ScratchFloats"/> floats, 64-byte aligned, this caller's own.
    /// </summary>
    public static void Rows(float* w, Q8Matrix? q8, float* x, float* y, int inFeatures, int outFeatures, int m, int start, int end,
        SimdPath path, float* scratch) =>
        Multiply(new Operand(w, inFeatures, false, q8), x, inFeatures, y, outFeatures, inFeatures, m, start, end, path, scratch);

    /// <summary>
    /// The right-hand operand, read as W[o, k]: row-major (out, in) with row stride <c>stride</c> — a Linear's weight, or
    /// attention's keys (positions, head size) — or, <c>byDepth</c>, stored (in, out) with that stride — attention's values
    /// (positions, head size) against the probabilities. <c>q8</c>: q8_0 rows instead of <c>w</c>.
    /// </summary>
    public readonly struct Operand(float* w, int stride, bool byDepth = false, Q8Matrix? q8 = null)
    {
        public readonly float* W = w;
        public readonly int Stride = stride;
        public readonly bool ByDepth = byDepth;
        public readonly Q8Matrix? Q8 = q8;
    }

    /// <summary>
    /// y[i·ldy + o] = Σ_{k &lt; depth} W[o, k] · x[i·ldx + k] for o in [<paramref name="start"/>, <paramref name="end"/>)
    /// and i &lt; m — the general form, strided (attention's heads are column ranges of wider rows).
    /// </summary>
    public static void Multiply(Operand w, float* x, int ldx, float* y, int ldy, int depth, int m, int start, int end, SimdPath path, float* scratch) =>
        Multiply([new Target(w, y, ldy, start, end)], x, ldx, depth, m, path, scratch);

    /// <summary>One product of a <see cref="Multiply(ReadOnlySpan{Target}, float*, int, int, int, SimdPath, float*)"/>: W, and its output columns [start, end) of y.</summary>
    public readonly struct Target(Operand w, float* y, int ldy, int start, int end)
    {
        public readonly Operand W = w;
        public readonly float* Y = y;
        public readonly int Ldy = ldy, Start = start, End = end;
    }

    /// <summary>
    /// Several products of the same X (q, k and v; gate and up): each X block is packed once for all of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(ReadOnlySpan<Target> targets, float* x, int ldx, int depth, int m, SimdPath path, float* scratch)
    {
        if (!Supports(path)) throw new ArgumentException($"no GEMM micro-kernel for {SimdPaths.Describe(path)}", nameof(path));
        int mr = KernelRows(path), nr = KernelColumns(path);
        float* xp = scratch, wp = scratch + (RowBlock + 12) * DepthBlock, tile = wp + DepthBlock * 32;
        for (int pc = 0; pc < depth; pc += DepthBlock)
        {
            int kc = Math.Min(DepthBlock, depth - pc);
            for (int ic = 0; ic < m; ic += RowBlock)
            {
                int mc = Math.Min(RowBlock, m - ic);
                PackX(x + (long)ic * ldx + pc, ldx, mc, kc, mr, xp);
                for (int t = 0; t < targets.Length; t++)
                {
                    var w = targets[t].W;
                    float* y = targets[t].Y;
                    int ldy = targets[t].Ldy, end = targets[t].End;
                    for (int jr = targets[t].Start; jr < end; jr += nr)
                    {
                        int nc = Math.Min(nr, end - jr);
                        PackW(w, jr, nc, pc, kc, nr, wp, path);
                        if (PrefetchPanels)   // the next panel: this target's, or the next target's first
                        {
                            if (jr + nr < end) Prefetch(w, jr + nr, Math.Min(nr, end - jr - nr), pc, kc);
                            else if (t + 1 < targets.Length) Prefetch(targets[t + 1].W, targets[t + 1].Start, Math.Min(nr, targets[t + 1].End - targets[t + 1].Start), pc, kc);
                        }
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            if (path == SimdPath.Avx512) Kernel12x32(xp + (long)ir * kc, wp, kc, tile);
                            else Kernel6x16(xp + (long)ir * kc, wp, kc, tile);
                            Store(tile, nr, y + (long)(ic + ir) * ldy + jr, ldy, Math.Min(mr, mc - ir), nc, pc > 0);
                        }
                    }
                }
            }
        }
    }

    // X rows [0, mc) × depth [0, kc) (x: row stride `stride`) → strips of mr rows, depth-major: xp[s·mr·kc + p·mr + r];
    // rows past mc are zeros, so the kernel needs no row tail.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackX(float* x, int stride, int mc, int kc, int mr, float* xp)
    {
        for (int s = 0; s < mc; s += mr, xp += (long)mr * kc)
            for (int r = 0; r < mr; r++)
            {
                float* row = x + (long)(s + r) * stride;
                if (s + r < mc) for (int p = 0; p < kc; p++) xp[p * mr + r] = row[p];
                else for (int p = 0; p < kc; p++) xp[p * mr + r] = 0;
            }
    }

    /// <summary>Whether the next W panel is fetched into L2 while the kernels run on this one (off: for the bench).</summary>
    internal static bool PrefetchPanels = true;

    // Asks for W rows [jr, jr + nc) × depth [pc, pc + kc) in L2: 32 row segments of 1 KiB, 3–12 KiB apart, are too many
    // short streams for the hardware prefetchers, and packing them cold waits on DRAM for each (fp32 rows; q8 are 4× less).
    static void Prefetch(Operand w, int jr, int nc, int pc, int kc)
    {
        if (nc <= 0 || w.ByDepth || w.Q8 is not null) return;
        for (int j = 0; j < nc; j++)
        {
            byte* row = (byte*)(w.W + (long)(jr + j) * w.Stride + pc);
            for (int b = 0; b < kc * sizeof(float); b += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch1(row + b);
        }
    }

    // W rows [jr, jr + nc) × depth [pc, pc + kc) → a depth-major panel wp[p·nr + j]; columns past nc are zeros.
    // SkipLocalsInit: its stack buffers are written before they are read; no need to zero 9 KiB for every panel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    static void PackW(Operand w, int jr, int nc, int pc, int kc, int nr, float* wp, SimdPath path)
    {
        if (w.ByDepth)   // already depth-major: copy nc values of each depth row
        {
            for (int p = 0; p < kc; p++)
            {
                float* from = w.W + (long)(pc + p) * w.Stride + jr;
                float* to = wp + p * nr;
                int j = 0;
                for (; j < nc; j++) to[j] = from[j];
                for (; j < nr; j++) to[j] = 0;
            }
            return;
        }
        int first = 0;
        if (VectorTranspose)   // whole groups of 8 rows by 8 × 8 transposes in registers (q8: widened into L1 first)
        {
            float* rows8 = stackalloc float[8 * DepthBlock];
            for (; first + 8 <= nc; first += 8)
            {
                if (w.Q8 is { } q)
                {
                    for (int r = 0; r < 8; r++) q.WidenRow(jr + first + r, pc, kc, rows8 + r * DepthBlock, path);
                    Transpose8(rows8, DepthBlock, kc, wp + first, nr);
                }
                else Transpose8(w.W + (long)(jr + first) * w.Stride + pc, w.Stride, kc, wp + first, nr);
            }
        }
        float* widened = stackalloc float[DepthBlock];
        for (int j = first; j < nr; j++)
        {
            if (j >= nc) { for (int p = 0; p < kc; p++) wp[p * nr + j] = 0; continue; }
            // The row segment into L1 first, in whole vectors (q8: widened on the way): element by element from L2 or
            // DRAM, the scattered loads of the transposition below waited on each miss (gensharp-bench prefill-gemm --cold).
            if (w.Q8 is { } q8) q8.WidenRow(jr + j, pc, kc, widened, path);
            else new ReadOnlySpan<float>(w.W + (long)(jr + j) * w.Stride + pc, kc).CopyTo(new Span<float>(widened, kc));
            for (int p = 0; p < kc; p++) wp[p * nr + j] = widened[p];
        }
    }

    /// <summary>Whether panels are packed by 8 × 8 register transposes (off: element by element, for the bench).</summary>
    internal static bool VectorTranspose = true;

    // 8 rows of w (stride `stride`) × depth [0, kc) → to[p·nr + r]: 8 × 8 blocks transposed in registers (unpack, shuffle,
    // lane permute: 24 instructions for 64 values instead of 64 scalar stores); the depth tail element by element.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Transpose8(float* w, int stride, int kc, float* to, int nr)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            var r0 = Vector256.Load(w + p); var r1 = Vector256.Load(w + stride + p);
            var r2 = Vector256.Load(w + 2L * stride + p); var r3 = Vector256.Load(w + 3L * stride + p);
            var r4 = Vector256.Load(w + 4L * stride + p); var r5 = Vector256.Load(w + 5L * stride + p);
            var r6 = Vector256.Load(w + 6L * stride + p); var r7 = Vector256.Load(w + 7L * stride + p);
            // pairs interleaved: t0 = r0₀ r1₀ r0₁ r1₁ | r0₄ r1₄ r0₅ r1₅, …
            var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
            var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
            var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
            var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
            // quads: u0 = rows 0–3 at depths 0 | 4, u1 at 1 | 5, u2 at 2 | 6, u3 at 3 | 7 (and u4–u7 for rows 4–7)
            var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
            var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
            var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
            var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
            float* o = to + (long)p * nr;
            Avx.Permute2x128(u0, u4, 0x20).Store(o);
            Avx.Permute2x128(u1, u5, 0x20).Store(o + nr);
            Avx.Permute2x128(u2, u6, 0x20).Store(o + 2 * nr);
            Avx.Permute2x128(u3, u7, 0x20).Store(o + 3 * nr);
            Avx.Permute2x128(u0, u4, 0x31).Store(o + 4 * nr);
            Avx.Permute2x128(u1, u5, 0x31).Store(o + 5 * nr);
            Avx.Permute2x128(u2, u6, 0x31).Store(o + 6 * nr);
            Avx.Permute2x128(u3, u7, 0x31).Store(o + 7 * nr);
        }
        for (; p < kc; p++)
            for (int r = 0; r < 8; r++) to[(long)p * nr + r] = w[(long)r * stride + p];
    }

    // tile (mr × nr, row-major) into y's rows × cols, added to what is there when accumulating over depth blocks.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Store(float* tile, int nr, float* y, int ldy, int rows, int cols, bool accumulate)
    {
        for (int r = 0; r < rows; r++, tile += nr, y += ldy)
        {
            int j = 0;
            if (accumulate)
            {
                for (; j + 8 <= cols; j += 8) (Vector256.Load(y + j) + Vector256.Load(tile + j)).Store(y + j);
                for (; j < cols; j++) y[j] += tile[j];
            }
            else
            {
                for (; j + 8 <= cols; j += 8) Vector256.Load(tile + j).Store(y + j);
                for (; j < cols; j++) y[j] = tile[j];
            }
        }
    }

    // The AVX-512 micro-kernel: a 12 × 32 tile of Y in 24 registers; per depth step two W loads and twelve broadcasts.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel12x32(float* xp, float* wp, int kc, float* tile)
    {
        Vector512<float> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default,
            c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default,
            c6a = default, c6b = default, c7a = default, c7b = default, c8a = default, c8b = default,
            c9a = default, c9b = default, c10a = default, c10b = default, c11a = default, c11b = default;
        for (int p = 0; p < kc; p++, xp += 12, wp += 32)
        {
            var b0 = Vector512.Load(wp);
            var b1 = Vector512.Load(wp + 16);
            var a = Vector512.Create(xp[0]); c0a = Vector512.FusedMultiplyAdd(a, b0, c0a); c0b = Vector512.FusedMultiplyAdd(a, b1, c0b);
            a = Vector512.Create(xp[1]); c1a = Vector512.FusedMultiplyAdd(a, b0, c1a); c1b = Vector512.FusedMultiplyAdd(a, b1, c1b);
            a = Vector512.Create(xp[2]); c2a = Vector512.FusedMultiplyAdd(a, b0, c2a); c2b = Vector512.FusedMultiplyAdd(a, b1, c2b);
            a = Vector512.Create(xp[3]); c3a = Vector512.FusedMultiplyAdd(a, b0, c3a); c3b = Vector512.FusedMultiplyAdd(a, b1, c3b);
            a = Vector512.Create(xp[4]); c4a = Vector512.FusedMultiplyAdd(a, b0, c4a); c4b = Vector512.FusedMultiplyAdd(a, b1, c4b);
            a = Vector512.Create(xp[5]); c5a = Vector512.FusedMultiplyAdd(a, b0, c5a); c5b = Vector512.FusedMultiplyAdd(a, b1, c5b);
            a = Vector512.Create(xp[6]); c6a = Vector512.FusedMultiplyAdd(a, b0, c6a); c6b = Vector512.FusedMultiplyAdd(a, b1, c6b);
            a = Vector512.Create(xp[7]); c7a = Vector512.FusedMultiplyAdd(a, b0, c7a); c7b = Vector512.FusedMultiplyAdd(a, b1, c7b);
            a = Vector512.Create(xp[8]); c8a = Vector512.FusedMultiplyAdd(a, b0, c8a); c8b = Vector512.FusedMultiplyAdd(a, b1, c8b);
            a = Vector512.Create(xp[9]); c9a = Vector512.FusedMultiplyAdd(a, b0, c9a); c9b = Vector512.FusedMultiplyAdd(a, b1, c9b);
            a = Vector512.Create(xp[10]); c10a = Vector512.FusedMultiplyAdd(a, b0, c10a); c10b = Vector512.FusedMultiplyAdd(a, b1, c10b);
            a = Vector512.Create(xp[11]); c11a = Vector512.FusedMultiplyAdd(a, b0, c11a); c11b = Vector512.FusedMultiplyAdd(a, b1, c11b);
        }
        c0a.Store(tile); c0b.Store(tile + 16); c1a.Store(tile + 32); c1b.Store(tile + 48);
        c2a.Store(tile + 64); c2b.Store(tile + 80); c3a.Store(tile + 96); c3b.Store(tile + 112);
        c4a.Store(tile + 128); c4b.Store(tile + 144); c5a.Store(tile + 160); c5b.Store(tile + 176);
        c6a.Store(tile + 192); c6b.Store(tile + 208); c7a.Store(tile + 224); c7b.Store(tile + 240);
        c8a.Store(tile + 256); c8b.Store(tile + 272); c9a.Store(tile + 288); c9b.Store(tile + 304);
        c10a.Store(tile + 320); c10b.Store(tile + 336); c11a.Store(tile + 352); c11b.Store(tile + 368);
    }

    // The AVX2 micro-kernel: a 6 × 16 tile in 12 of the 16 registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel6x16(float* xp, float* wp, int kc, float* tile)
    {
        Vector256<float> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default,
            c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default;
        for (int p = 0; p < kc; p++, xp += 6, wp += 16)
        {
            var b0 = Vector256.Load(wp);
            var b1 = Vector256.Load(wp + 8);
            var a = Vector256.Create(xp[0]); c0a = Vector256.FusedMultiplyAdd(a, b0, c0a); c0b = Vector256.FusedMultiplyAdd(a, b1, c0b);
            a = Vector256.Create(xp[1]); c1a = Vector256.FusedMultiplyAdd(a, b0, c1a); c1b = Vector256.FusedMultiplyAdd(a, b1, c1b);
            a = Vector256.Create(xp[2]); c2a = Vector256.FusedMultiplyAdd(a, b0, c2a); c2b = Vector256.FusedMultiplyAdd(a, b1, c2b);
            a = Vector256.Create(xp[3]); c3a = Vector256.FusedMultiplyAdd(a, b0, c3a); c3b = Vector256.FusedMultiplyAdd(a, b1, c3b);
            a = Vector256.Create(xp[4]); c4a = Vector256.FusedMultiplyAdd(a, b0, c4a); c4b = Vector256.FusedMultiplyAdd(a, b1, c4b);
            a = Vector256.Create(xp[5]); c5a = Vector256.FusedMultiplyAdd(a, b0, c5a); c5b = Vector256.FusedMultiplyAdd(a, b1, c5b);
        }
        c0a.Store(tile); c0b.Store(tile + 8); c1a.Store(tile + 16); c1b.Store(tile + 24);
        c2a.Store(tile + 32); c2b.Store(tile + 40); c3a.Store(tile + 48); c3b.Store(tile + 56);
        c4a.Store(tile + 64); c4b.Store(tile + 72); c5a.Store(tile + 80); c5b.Store(tile + 88);
    }
}
