using System.Runtime.InteropServices;
using GenSharp.Numerics;
using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// One weight matrix (out, in), or several of the same input stacked by rows (q, k, v), whose products go to one output
/// (rows, Σ out): fp32 read in place, or q8_0 blocks. The tensors are asked of their module every step, never kept: an
/// optimizer (AdamW's flat buffer) or the multi-LoRA bank (its fused stack) re-homes weights, disposing the old. When
/// the members lie end to end in memory (the model allocates q, k and v so; AdamW's buffer and the bank keep them so), a
/// part's rows are one range of one matrix — read as four long streams — instead of a short range of each.
/// </summary>
internal sealed unsafe class DecoderProjection
{
    readonly Func<Tensor>[] _members;
    readonly int[] _first;                 // the group's row where each member starts, then Rows
    readonly Tensor?[] _checked;           // the tensors last found in place (shape checked once; contiguity and address every step)
    readonly float*[] _base;               // per member: its memory less its first row's offset, so group row o is at _base[j] + o·Columns
    bool _adjacent;
    public readonly int Rows, Columns;

    public DecoderProjection(Q8Matrix? q8, params Func<Tensor>[] members)
    {
        (_members, Q8) = (members, q8);
        _first = new int[members.Length + 1];
        for (int j = 0; j < members.Length; j++)
        {
            var w = members[j]();
            if (j > 0 && w.shape[1] != Columns) throw new ArgumentException($"stacked projections read {Columns} and {w.shape[1]} inputs");
            Columns = (int)w.shape[1];
            _first[j + 1] = _first[j] + (int)w.shape[0];
        }
        Rows = _first[^1];
        (_checked, _base) = (new Tensor?[members.Length], new float*[members.Length]);
    }

    public Q8Matrix? Q8 { get; }
    public long Bytes => Q8?.Bytes ?? (long)Rows * Columns * sizeof(float);

    public void Bind()
    {
        if (Q8 is not null) return;
        _adjacent = true;
        for (int j = 0; j < _members.Length; j++)
        {
            var w = _members[j]();
            int rows = _first[j + 1] - _first[j];
            if (!ReferenceEquals(w, _checked[j]) || !w.is_contiguous())   // set_ (AdamW) keeps the object and may move the storage
            {
                if (!w.is_contiguous() || w.shape[0] != rows || w.shape[1] != Columns)
                    throw new InvalidOperationException($"a weight of the decoded model changed layout ({string.Join(" × ", w.shape)}, contiguous: {w.is_contiguous()}); make a new engine");
                _checked[j] = w;
            }
            _base[j] = Pointer(w) - (long)_first[j] * Columns;
            _adjacent &= _base[j] == _base[0];
        }
    }

    /// <param name="y">(m, <see cref="Rows"/>) row-major.</param>
    /// <param name="pack">This part's <see cref="Gemm"/> scratch when the product runs on the GEMM, else null.</param>
    /// <param name="x16">The inputs rounded to int16 (<see cref="Q8Matrix.QuantizeActivations"/>), or null.</param>
    public void Product(float* x, float* y, int m, int part, int parts, SimdPath path, float* pack, short* x16 = null, float* xScale = null)
    {
        var (start, end) = Split(Rows, part, parts);
        if (Q8 is not null && pack is null)
        {
            if (x16 is not null) Q8.RowsProductInt16(x16, xScale, y, m, start, end, path);
            else Q8.RowsProduct(x, y, m, start, end, path);
            return;
        }
        for (int j = 0; j < (Whole ? 1 : _members.Length); j++)
        {
            var (s, e) = Segment(j, start, end);
            if (s >= e) continue;
            if (pack is not null) Gemm.Rows(_base[j], Q8, x, y, Columns, Rows, m, s, e, path, pack);
            else MatVec.Rows(_base[j], x, y, Columns, Rows, m, s, e, path);
        }
    }

    /// <summary>This part's share of the product on the GEMM, as targets to run with others of the same input; returns how many.</summary>
    public int Targets(float* y, int part, int parts, Gemm.Target[] into, int at)
    {
        var (start, end) = Split(Rows, part, parts);
        int n = 0;
        for (int j = 0; j < (Whole ? 1 : _members.Length); j++)
        {
            var (s, e) = Segment(j, start, end);
            if (s < e) into[at + n++] = new Gemm.Target(new Gemm.Operand(_base[j], Columns, false, Q8), y, Rows, s, e);
        }
        return n;
    }

    // One range over all rows when the members lie end to end or are one q8_0 matrix; otherwise one a member.
    bool Whole => Q8 is not null || _adjacent;

    // Member j's rows within [start, end) (all of them, from _base[0], when Whole).
    (int Start, int End) Segment(int j, int start, int end) => Whole ? (start, end) : (Math.Max(start, _first[j]), Math.Min(end, _first[j + 1]));

    /// <summary>The projection of <paramref name="weights"/> stacked by rows; with <paramref name="int8"/>, over their q8_0 blocks (when in_features allows).</summary>
    public static DecoderProjection Create(bool int8, params Func<Tensor>[] weights) =>
        new(int8 && weights[0]().shape[1] % Q8Matrix.Block == 0 ? Quantized([.. weights.Select(w => w())]) : null, weights);

    // Part k of n gets rows [k·rows/n, (k+1)·rows/n), boundaries on multiples of 16 (whole cache lines of y).
    internal static (int Start, int End) Split(int rows, int part, int parts)
    {
        int Bound(int k) => k >= parts ? rows : Math.Min(rows, (int)((long)rows * k / parts) & ~15);
        return (Bound(part), Bound(part + 1));
    }

    // q8_0 blocks of the matrices stacked by rows, whose dequantized values then replace theirs: libtorch (prefill) and the
    // kernels see the same weights.
    static Q8Matrix Quantized(Tensor[] ws)
    {
        int rows = (int)ws.Sum(w => w.shape[0]), columns = (int)ws[0].shape[1];
        using var stacked = cat(ws, 0);
        var q = Q8Matrix.Quantize(stacked.data<float>().ToArray(), rows, columns);
        var back = new float[(long)rows * columns];
        q.Dequantize(back);
        using var t = tensor(back, [rows, columns]);
        long at = 0;
        foreach (var w in ws)
        {
            using var part = t.narrow(0, at, w.shape[0]);
            w.copy_(part);
            at += w.shape[0];
        }
        return q;
    }

    [DllImport("LibTorchSharp")]
    static extern IntPtr THSTensor_data(IntPtr handle);

    internal static float* Pointer(Tensor t) => (float*)THSTensor_data(t.Handle);
}
