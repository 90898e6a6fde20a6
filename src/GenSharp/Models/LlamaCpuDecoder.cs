using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using GenSharp.Numerics;
using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// The decode step of a <see cref="LlamaForCausalLM"/> — one new token for each of B sequences → next-token logits —
/// on GenSharp's CPU kernels instead of libtorch ops. Decoding is bound by reading the weights (each is used once per
/// token), and libtorch spends most of a small model's step launching ~25 ops a layer; here a layer is five parallel
/// phases on a spinning <see cref="ThreadTeam"/> (q/k/v, attention, o, gate/up with SwiGLU fused, down) and a few
/// serial loops over one row (RMSNorm, RoPE, residuals) — no tensors are made. It reads the model's fp32 weights in
/// place through <see cref="DecoderProjection"/>s (their addresses are taken again every step: an optimizer that re-homes
/// parameters moves them; q, k and v as one matrix while they lie end to end, see <see cref="ProjectionStack"/>) and the same
/// <see cref="KvCache"/> libtorch's prefill fills; with <see cref="DecodeKernelOptions.Int8"/> it reads q8_0 copies.
/// Equations are the model's own (<see cref="LlamaAttention"/>, <see cref="LlamaMLP"/>); logits equal libtorch's
/// within float rounding (tests).
/// </summary>
internal sealed unsafe class LlamaCpuDecoder : IDisposable
{
    // Projections of the same input rows (q/k/v; gate, up): on the GEMM, one call packs each X block once for all.
    void Products(float* x, int part, DecoderProjection a, float* ya, DecoderProjection? b = null, float* yb = null)
    {
        if (Pack(part) is not null)
        {
            var targets = _targets[part];
            int n = a.Targets(ya, part, _parts, targets, 0);
            if (b is not null) n += b.Targets(yb, part, _parts, targets, n);
            Gemm.Multiply(targets.AsSpan(0, n), x, a.Columns, a.Columns, _b, _path, _pack[part]);
            return;
        }
        a.Product(x, ya, _b, part, _parts, _path, null, _phaseX16, _xScale);
        b?.Product(x, yb, _b, part, _parts, _path, null, _phaseX16, _xScale);
    }

    sealed record Weights(Layer[] Layers, DecoderProjection Head);

    // A model's q8_0 weights, made once and shared by every engine over it (quantizing 100 M weights takes ~1 s).
    static readonly ConditionalWeakTable<LlamaForCausalLM, Weights> Quantized8 = new();

    sealed record Layer(Func<Tensor> InputNorm, Func<Tensor> PostNorm, DecoderProjection Qkv, DecoderProjection O,
        DecoderProjection Gate, DecoderProjection Up, DecoderProjection Down, Func<Tensor?> QBias, Func<Tensor?> KBias, Func<Tensor?> VBias)
    {
        public readonly DecoderProjection[] Projections = [Qkv, O, Gate, Up, Down];   // made once: Bind runs every step
    }

    readonly LlamaForCausalLM _model;
    readonly KvCache _cache;
    readonly ThreadTeam _team;
    readonly SimdPath _path;
    readonly Layer[] _layers;
    readonly DecoderProjection _head;
    readonly Func<Tensor> _embedding, _finalNorm;
    readonly int _c, _heads, _kvHeads, _hs, _ffn, _vocab, _context, _rows;
    readonly float _eps;
    readonly float[] _cos, _signedSin;                        // (context, hs): the model's RoPE tables, rotate-half layout
    readonly float* _x, _h, _att, _g, _u, _tmp;               // (rows, width) activations
    readonly float* _qkv, _q, _k, _v;                         // (rows, _qkvWidth): a row's q, k and v side by side
    readonly int _qkvWidth;
    readonly float*[] _scratch;                               // per thread: attention scores, sigmoid values
    readonly float*[] _pack;                                  // per thread: Gemm's packed blocks (null: no GEMM kernel)
    readonly Gemm.Target[][] _targets;                        // per thread: a phase's products on the GEMM
    readonly short* _x16;                                     // a phase's input rows rounded to int16, for the int8 kernel
    readonly float* _xScale;
    short* _phaseX16;                                         // _x16 while the phase in flight uses it, else null
    readonly Action<int> _qkvWork, _attentionWork, _oWork, _gateUpWork, _downWork, _headWork;

    // The step in flight, read by the phases.
    int _b, _layer;
    readonly int[] _slots, _positions, _tokens;
    float* _logits, _keys, _values;

    public LlamaCpuDecoder(LlamaForCausalLM model, KvCache cache, DecodeKernelOptions options, SimdPath? path = null, int? prefillRows = null)
    {
        options.Validate();
        if (Unsupported(model) is { } why) throw new ArgumentException($"the CPU decoder cannot run this model: {why}");
        var c = model.Config;
        (_model, _cache, _path) = (model, cache, path ?? SimdPaths.Detect());
        (_c, _heads, _kvHeads, _hs, _ffn, _vocab, _context, _rows, _eps) =
            (c.HiddenSize, c.NumHeads, c.NumKvHeads, c.HeadDim, c.IntermediateSize, c.VocabSize, cache.Context, Math.Max(cache.Slots, prefillRows ?? PrefillRows), (float)c.RmsNormEps);
        Int8 = options.Int8 || IsInt8(model);   // a model quantized once (gensharp quantize, --quantize) decodes in int8 everywhere
        var weights = Int8 ? Quantized8.GetValue(model, m => BuildWeights(m, true)) : BuildWeights(model, false);
        (_layers, _head) = (weights.Layers, weights.Head);
        (_embedding, _finalNorm) = (() => model.Backbone.EmbeddingWeight, () => model.Backbone.Norm.Weight);
        using (no_grad())
        {
            using var scope = NewDisposeScope();
            var (cos, sin) = Rope.Tables(arange(_context, dtype: int64), _hs, c.RopeTheta, c.RopeScaling);   // (context, hs)
            (_cos, _signedSin) = (cos.data<float>().ToArray(), Rope.SignedSin(sin).contiguous().data<float>().ToArray());
        }
        _team = new ThreadTeam(options.Threads ?? Math.Max(1, get_num_threads()));
        float* Buffer(long n) => (float*)NativeMemory.AlignedAlloc((nuint)(n * sizeof(float)), 64);
        _x = Buffer(_rows * _c); _h = Buffer(_rows * _c); _tmp = Buffer(_rows * _c);
        _qkvWidth = (_heads + 2 * _kvHeads) * _hs;
        _qkv = Buffer(_rows * _qkvWidth);
        _q = _qkv;
        _k = _qkv + _heads * _hs;
        _v = _k + _kvHeads * _hs;
        _att = Buffer(_rows * _heads * _hs);
        _g = Buffer(_rows * _ffn); _u = Buffer(_rows * _ffn);
        long widest = Math.Max(Math.Max(_c, _ffn), _heads * _hs);
        _x16 = (short*)NativeMemory.AlignedAlloc((nuint)(_rows * widest * sizeof(short)), 64);
        _xScale = Buffer(_rows);
        _scratch = new float*[_team.Size];
        for (int t = 0; t < _team.Size; t++) _scratch[t] = Buffer(Math.Max((long)AttentionBlock * _context, _ffn));
        _pack = new float*[_team.Size];
        if (Gemm.Supports(_path)) for (int t = 0; t < _team.Size; t++) _pack[t] = Buffer(Gemm.ScratchFloats);
        _targets = [.. Enumerable.Range(0, _team.Size).Select(_ => new Gemm.Target[6])];
        (_slots, _positions, _tokens) = (new int[_rows], new int[_rows], new int[_rows]);
        (_blockStart, _blockRows) = (new int[_rows], new int[_rows]);
        // Phases as delegates made once: a step allocates nothing.
        _qkvWork = QkvPhase;
        _attentionWork = AttentionPhase;
        _oWork = part => _layers[_layer].O.Product(_att, _tmp, _b, part, _parts, _path, Pack(part), _phaseX16, _xScale);
        _gateUpWork = GateUpPhase;
        _downWork = part => _layers[_layer].Down.Product(_g, _tmp, _b, part, _parts, _path, Pack(part), _phaseX16, _xScale);
        _headWork = part => _head.Product(_h, _logits, _b, part, _parts, _path, Pack(part), _phaseX16, _xScale);
    }

    /// <summary>Makes (once) the model's q8_0 weights, replacing its fp32 values by the dequantized ones.</summary>
    internal static void QuantizeInt8(LlamaForCausalLM model) => Quantized8.GetValue(model, m => BuildWeights(m, true));

    internal static bool IsInt8(LlamaForCausalLM model) => Quantized8.TryGetValue(model, out _);

    static Weights BuildWeights(LlamaForCausalLM model, bool int8)
    {
        using var _ = no_grad();
        DecoderProjection P(params Func<Tensor>[] ws) => DecoderProjection.Create(int8, ws);
        DecoderProjection Of(params TorchSharp.Modules.Linear[] linears) => P([.. linears.Select(l => (Func<Tensor>)(() => l.weight!))]);
        var layers = model.Backbone.Layers.Select(l =>
        {
            var a = l.Attention.Projections.ToDictionary(p => p.Name, p => p.Projection);
            var m = l.Mlp.Projections.ToDictionary(p => p.Name, p => p.Projection);
            return new Layer(() => l.InputNorm.Weight, () => l.PostAttentionNorm.Weight, Of(a["q_proj"], a["k_proj"], a["v_proj"]),
                Of(a["o_proj"]), Of(m["gate_proj"]), Of(m["up_proj"]), Of(m["down_proj"]),
                () => a["q_proj"].bias, () => a["k_proj"].bias, () => a["v_proj"].bias);
        }).ToArray();
        return new Weights(layers, P(() => model.HeadWeight));
    }

    /// <summary>Whether the weights are q8_0 blocks.</summary>
    public bool Int8 { get; }
    public SimdPath Path => _path;
    public int Threads => _team.Size;

    /// <summary>Bytes of weights one decode step reads (every matrix once; the embedding row is negligible).</summary>
    public long WeightBytes => _layers.Sum(l => l.Projections.Sum(p => p.Bytes)) + _head.Bytes;

    /// <summary>Why the kernels cannot run <paramref name="model"/> (null: they can).</summary>
    public static string? Unsupported(LlamaForCausalLM model)
    {
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.device_type != TorchSharp.DeviceType.CPU) return $"{name} is on {p.device}, not the CPU";
            if (p.dtype != ScalarType.Float32) return $"{name} is {p.dtype}, not fp32";
            if (!p.is_contiguous()) return $"{name} is not contiguous";
        }
        return model.HasAttachedLora ? "a LoRA adapter is attached (merge it, or decode with libtorch)" : null;
    }

    /// <summary>
    /// Feeds <paramref name="tokens"/>[i] to the sequence in <paramref name="slots"/>[i] (its cache grows by one) and
    /// writes the next-token logits, (B, vocab) row-major, to <paramref name="logits"/>.
    /// </summary>
    public void Forward(int[] slots, int[] tokens, Span<float> logits)
    {
        int B = slots.Length;
        if (B > _rows || tokens.Length != B) throw new ArgumentException($"{B} slots and {tokens.Length} tokens for a decoder of {_rows} rows");
        if (logits.Length != (long)B * _vocab) throw new ArgumentException($"logits hold {logits.Length} values; {B} × {_vocab} expected");
        CheckTokens(tokens);
        if (slots.Distinct().Count() != B) throw new ArgumentException("a slot appears twice in one decode step");
        _cache.Advance(slots, _positions);
        slots.CopyTo(_slots, 0);
        tokens.CopyTo(_tokens, 0);
        fixed (float* y = logits) Rows(B, null, y);
    }

    /// <summary>
    /// Most rows (tokens) one pass takes: the decode batch, or <see cref="PrefillRows"/> for prompts, whichever is more.
    /// </summary>
    public int Capacity => _rows;

    /// <summary>
    /// Rows of a prefill pass at least (a longer prompt takes several passes): every pass reads all weights once, and the
    /// GEMM's tiles run at full speed from a few dozen rows, so a pass takes a whole pp512 prompt.
    /// </summary>
    internal const int PrefillRows = 512;

    /// <summary>
    /// Prefill on the kernels: each prompt's tokens enter its slot (a prompt is rows of one slot at successive positions,
    /// and a row attends to its slot's keys up to its own position — the causal mask, with no mask), several prompts in
    /// one pass, in passes of <see cref="Capacity"/> rows. Writes each prompt's last-token logits, (prompts, vocab), to
    /// <paramref name="logits"/>. Short prompts go faster this way than through libtorch's per-op launches.
    /// </summary>
    public void Prefill(IReadOnlyList<(int Slot, IReadOnlyList<int> Tokens)> prompts, Span<float> logits)
    {
        if (logits.Length != (long)prompts.Count * _vocab) throw new ArgumentException($"logits hold {logits.Length} values; {prompts.Count} × {_vocab} expected");
        if (prompts.Select(p => p.Slot).Distinct().Count() != prompts.Count) throw new ArgumentException("a slot appears twice in one prefill");
        foreach (var (slot, tokens) in prompts)
        {
            if (tokens.Count == 0) throw new ArgumentException($"the prompt for slot {slot} is empty");
            CheckTokens(tokens);
        }
        var rowSlots = new int[_rows];
        var wanted = new int[_rows];      // rows whose logits are kept, and the prompt each is the last token of
        var owners = new int[_rows];
        fixed (float* all = logits)
        {
            int rows = 0, kept = 0, firstOwner = 0;
            for (int p = 0; p < prompts.Count; p++)
                for (int i = 0; i < prompts[p].Tokens.Count; i++)
                {
                    rowSlots[rows] = prompts[p].Slot;
                    _tokens[rows] = prompts[p].Tokens[i];
                    if (i == prompts[p].Tokens.Count - 1) { wanted[kept] = rows; owners[kept++] = p; }
                    if (++rows == _rows || (p == prompts.Count - 1 && i == prompts[p].Tokens.Count - 1))
                    {
                        // A pass's kept rows belong to consecutive prompts: their logits are consecutive rows of the output.
                        if (kept > 0) firstOwner = owners[0];
                        _cache.Advance(rowSlots.AsSpan(0, rows), _positions);
                        rowSlots.AsSpan(0, rows).CopyTo(_slots);
                        Rows(rows, wanted[..kept], all + (long)firstOwner * _vocab);
                        rows = kept = 0;
                    }
                }
        }
    }

    void CheckTokens(IReadOnlyList<int> tokens)
    {
        foreach (var id in tokens)
            if ((uint)id >= (uint)_vocab) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {id} is not in 0…{_vocab - 1}");
    }

    // B rows: token _tokens[b] into slot _slots[b] at position _positions[b] (a slot may repeat at successive positions);
    // logits of the rows in keep (all when null, each row's in order) to y.
    void Rows(int B, int[]? keep, float* y)
    {
        long t = System.Diagnostics.Stopwatch.GetTimestamp();
        _b = B;
        _gemmRows = GemmRows ?? (_path == SimdPath.Avx512 ? 128 : 32);
        foreach (var l in _layers) foreach (var p in l.Projections) p.Bind();
        _head.Bind();
        float* embedding = Pointer(_embedding());
        for (int b = 0; b < B; b++) new Span<float>(embedding + (long)_tokens[b] * _c, _c).CopyTo(Row(_x, b, _c));
        FindBlocks();
        Mark(Phase.Other, ref t);
        for (_layer = 0; _layer < _layers.Length; _layer++)
        {
            var layer = _layers[_layer];
            _keys = Pointer(_cache.Keys(_layer));
            _values = Pointer(_cache.Values(_layer));
            RmsNorm(_x, _h, Pointer(layer.InputNorm()));
            Mark(Phase.Norms, ref t);
            RoundInputs(_h, _c);
            Run(_qkvWork, (long)_b * _c * (_heads + 2 * _kvHeads) * _hs);
            Mark(Phase.Qkv, ref t);
            PositionAndStore(layer);
            Mark(Phase.RopeAndCache, ref t);
            Run(_attentionWork, 2L * _b * _heads * _hs * (_positions[0] + 1));
            Mark(Phase.Attention, ref t);
            RoundInputs(_att, _heads * _hs);
            Run(_oWork, (long)_b * _heads * _hs * _c);
            Mark(Phase.O, ref t);
            TensorPrimitives.Add(new ReadOnlySpan<float>(_x, B * _c), new ReadOnlySpan<float>(_tmp, B * _c), new Span<float>(_x, B * _c));
            RmsNorm(_x, _h, Pointer(layer.PostNorm()));
            Mark(Phase.Norms, ref t);
            RoundInputs(_h, _c);
            Run(_gateUpWork, 2L * _b * _c * _ffn);
            Mark(Phase.GateUp, ref t);
            RoundInputs(_g, _ffn);
            Run(_downWork, (long)_b * _c * _ffn);
            Mark(Phase.Down, ref t);
            TensorPrimitives.Add(new ReadOnlySpan<float>(_x, B * _c), new ReadOnlySpan<float>(_tmp, B * _c), new Span<float>(_x, B * _c));
        }
        if (keep is not null)   // the kept rows to the front (in increasing order, so no row is overwritten before it is read)
        {
            for (int i = 0; i < keep.Length; i++)
                if (keep[i] != i) Row(_x, keep[i], _c).CopyTo(Row(_x, i, _c));
            _b = keep.Length;
        }
        RmsNorm(_x, _h, Pointer(_finalNorm()));
        Mark(Phase.Norms, ref t);
        if (_b == 0) return;
        RoundInputs(_h, _c);
        _logits = y;
        Run(_headWork, (long)_b * _c * _vocab);
        _logits = null;
        Mark(Phase.Head, ref t);
    }

    /// <summary>The parts of a step, for <see cref="Profile"/>.</summary>
    public enum Phase { Qkv, RopeAndCache, Attention, O, GateUp, Down, Head, Norms, Other }

    /// <summary>Seconds spent in each <see cref="Phase"/> since the decoder was made (wall time on the calling thread).</summary>
    public IReadOnlyDictionary<Phase, double> Profile =>
        Enum.GetValues<Phase>().ToDictionary(p => p, p => _ticks[(int)p] / (double)System.Diagnostics.Stopwatch.Frequency);

    readonly long[] _ticks = new long[Enum.GetValues<Phase>().Length];

    void Mark(Phase phase, ref long t)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        _ticks[(int)phase] += now - t;
        t = now;
    }

    /// <summary>
    /// Int8 weights, one to three rows, AVX-512BW or AVX2: the phase's inputs are rounded to int16 once (one scale a row)
    /// and the products run on <see cref="Q8Matrix.RowsProductInt16"/> — 4 vector ops per 32 weights instead of 7 (AVX2:
    /// 7 instead of 13), which is what keeps int8 decode at the memory's speed rather than the arithmetic's. The rounding error (max|x|/65534) is some
    /// 100× below the weights' own. Batches of four rows or more take the tile path in fp32. Off: fp32 inputs throughout.
    /// </summary>
    internal static bool Int16Inputs = true;

    /// <summary>
    /// Rows (tokens) from which the products run on <see cref="Gemm"/>'s packed tiles instead of <see cref="MatVec"/>:
    /// packing a weight panel pays off once enough rows share it — from 128 rows against AVX-512's 4 × 4 tiles, from 32
    /// with AVX2, whose MatVec dots one input at a time (gensharp-bench prefill-gemm). Null: those defaults.
    /// </summary>
    internal static int? GemmRows;

    int _gemmRows;

    // This part's GEMM scratch when the pass's products run on the GEMM, else null.
    float* Pack(int part) => _b >= _gemmRows ? _pack[part] : null;

    void RoundInputs(float* x, int width)
    {
        _phaseX16 = null;
        if (!Int8 || !Int16Inputs || _b >= 4 || !Q8Matrix.Int16Supports(_path)) return;
        for (int b = 0; b < _b; b++) _xScale[b] = Q8Matrix.QuantizeActivations(x + (long)b * width, _x16 + (long)b * width, width);
        _phaseX16 = _x16;
    }

    /// <summary>
    /// Multiply–adds below which a phase runs on the calling thread alone: waking the team and waiting for the slowest
    /// part costs a few µs, more than splitting a small product saves (the bundled model's head, short attention).
    /// </summary>
    internal static long MinParallelWork = 32_768;

    int _parts = 1;

    void Run(Action<int> work, long multiplyAdds)
    {
        _parts = multiplyAdds >= MinParallelWork ? _team.Size : 1;
        if (_parts == 1) work(0);
        else _team.Run(work);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void QkvPhase(int part)
    {
        var l = _layers[_layer];
        Products(_h, part, l.Qkv, _qkv);
    }

    // Biases (Qwen2), RoPE on q and k at each row's position, k and v into the cache at (slot, kv head, position).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void PositionAndStore(Layer l)
    {
        int qWidth = _heads * _hs, kvWidth = _kvHeads * _hs;
        Span<float> rotated = stackalloc float[_hs];
        for (int b = 0; b < _b; b++)
        {
            Span<float> q = new(_q + (long)b * _qkvWidth, qWidth), k = new(_k + (long)b * _qkvWidth, kvWidth), v = new(_v + (long)b * _qkvWidth, kvWidth);
            if (l.QBias() is { } qb)
            {
                TensorPrimitives.Add(q, new ReadOnlySpan<float>(Pointer(qb), qWidth), q);
                TensorPrimitives.Add(k, new ReadOnlySpan<float>(Pointer(l.KBias()!), kvWidth), k);
                TensorPrimitives.Add(v, new ReadOnlySpan<float>(Pointer(l.VBias()!), kvWidth), v);
            }
            int pos = _positions[b];
            var cos = _cos.AsSpan(pos * _hs, _hs);
            var sin = _signedSin.AsSpan(pos * _hs, _hs);
            int half = _hs / 2;
            for (int head = 0; head < _heads + _kvHeads; head++)
            {
                var x = head < _heads ? q.Slice(head * _hs, _hs) : k.Slice((head - _heads) * _hs, _hs);
                // x·cos + rotate_half(x)·sin, rotate_half([x1, x2]) = [−x2, x1]: the sign is in the table (Rope.SignedSin).
                TensorPrimitives.Multiply(x[half..], sin[..half], rotated[..half]);
                TensorPrimitives.Multiply(x[..half], sin[half..], rotated[half..]);
                TensorPrimitives.MultiplyAdd(x, cos, rotated, x);
            }
            for (int head = 0; head < _kvHeads; head++)
            {
                long row = (((long)_slots[b] * _kvHeads + head) * _context + pos) * _hs;
                k.Slice(head * _hs, _hs).CopyTo(new Span<float>(_keys + row, _hs));
                v.Slice(head * _hs, _hs).CopyTo(new Span<float>(_values + row, _hs));
            }
        }
    }

    /// <summary>Rows of one slot at successive positions that attend as one block (prefill): scores for 64 rows at a time.</summary>
    internal const int AttentionBlock = 64;

    /// <summary>Rows of a block from which its attention runs as two <see cref="Gemm"/> products instead of row by row.</summary>
    internal static int GemmAttentionRows = 8;

    // The pass's rows cut into blocks of successive positions of one slot (≤ AttentionBlock rows): decode rows are blocks of one.
    int _blockCount;
    readonly int[] _blockStart, _blockRows;

    void FindBlocks()
    {
        _blockCount = 0;
        for (int b = 0; b < _b;)
        {
            int e = b + 1;
            while (e < _b && e - b < AttentionBlock && _slots[e] == _slots[b] && _positions[e] == _positions[e - 1] + 1) e++;
            (_blockStart[_blockCount], _blockRows[_blockCount]) = (b, e - b);
            _blockCount++;
            b = e;
        }
    }

    // softmax(q·Kᵀ/√hs)·V for each (block, head), a row over its slot's positions 0 … its own (the causal mask); head h
    // reads K/V head h / (nh/nkv). Items are dealt out in turn, so the later blocks of a long prompt (more keys) are shared.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void AttentionPhase(int part)
    {
        for (int item = part, items = _blockCount * _heads; item < items; item += _parts)
        {
            int block = item / _heads, head = item % _heads, first = _blockStart[block], rows = _blockRows[block];
            if (rows >= GemmAttentionRows && _pack[part] != null) BlockAttention(first, rows, head, part);
            else for (int b = first; b < first + rows; b++) RowAttention(b, head, part);
        }
    }

    /// <summary>
    /// Whether a decode row's attention scores its keys as one matrix–vector product and sums its values with the output
    /// in registers (off: a dot and an axpy a position, as before; for the bench).
    /// </summary>
    internal static bool RowKernels = true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void RowAttention(int b, int head, int part)
    {
        float scale = 1 / MathF.Sqrt(_hs);
        float* scores = _scratch[part];
        int length = _positions[b] + 1;
        float* q = _q + (long)b * _qkvWidth + head * _hs;
        long plane = ((long)_slots[b] * _kvHeads + head / (_heads / _kvHeads)) * _context * _hs;
        var p = new Span<float>(scores, length);
        float* y = _att + ((long)b * _heads + head) * _hs;
        if (RowKernels)   // the keys as a (length, hs) matrix against q; the values summed with y in registers
        {
            MatVec.Rows(_keys + plane, q, scores, _hs, length, 1, 0, length, _path);
            TensorPrimitives.Multiply(p, scale, p);
            TensorPrimitives.SoftMax(p, p);
            MatVec.WeightedSum(scores, _values + plane, length, _hs, y, _path);
            return;
        }
        for (int j = 0; j < length; j++) scores[j] = MatVec.Dot(q, _keys + plane + (long)j * _hs, _hs, _path) * scale;
        TensorPrimitives.SoftMax(p, p);
        new Span<float>(y, _hs).Clear();
        for (int j = 0; j < length; j++) MatVec.AddScaled(scores[j], _values + plane + (long)j * _hs, y, _hs, _path);
    }

    // A block's rows for one head: S = Q·Kᵀ over keys 0 … the last row's position, each row's softmax over its own
    // positions (later ones zeroed), then S·V — two products on the GEMM kernel instead of a dot per (row, key).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void BlockAttention(int first, int rows, int head, int part)
    {
        int width = _heads * _hs, length = _positions[first + rows - 1] + 1;
        long plane = ((long)_slots[first] * _kvHeads + head / (_heads / _kvHeads)) * _context * _hs;
        float* scores = _scratch[part];
        Gemm.Multiply(new Gemm.Operand(_keys + plane, _hs), _q + (long)first * _qkvWidth + head * _hs, _qkvWidth, scores, length, _hs, rows, 0, length, _path, _pack[part]);
        float scale = 1 / MathF.Sqrt(_hs);
        for (int r = 0; r < rows; r++)
        {
            int n = _positions[first + r] + 1;
            var p = new Span<float>(scores + (long)r * length, n);
            TensorPrimitives.Multiply(p, scale, p);
            TensorPrimitives.SoftMax(p, p);
            new Span<float>(scores + (long)r * length + n, length - n).Clear();
        }
        Gemm.Multiply(new Gemm.Operand(_values + plane, _hs, byDepth: true), scores, length, _att + (long)first * width + head * _hs, width, length, rows, 0, _hs, _path, _pack[part]);
    }

    // gate and up over the same rows, then silu(gate)·up on those rows while they are in cache.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void GateUpPhase(int part)
    {
        var l = _layers[_layer];
        Products(_h, part, l.Gate, _g, l.Up, _u);
        var (start, end) = Split(_ffn, part, _parts);
        var sigmoid = new Span<float>(_scratch[part], end - start);
        for (int b = 0; b < _b; b++)
        {
            var g = new Span<float>(_g + (long)b * _ffn + start, end - start);
            var u = new Span<float>(_u + (long)b * _ffn + start, end - start);
            TensorPrimitives.Sigmoid(g, sigmoid);
            TensorPrimitives.Multiply(g, sigmoid, g);
            TensorPrimitives.Multiply(g, u, g);
        }
    }

    // weight · x · rsqrt(mean(x²) + eps), per row (LlamaRMSNorm).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void RmsNorm(float* x, float* y, float* weight)
    {
        var w = new ReadOnlySpan<float>(weight, _c);
        for (int b = 0; b < _b; b++)
        {
            Span<float> xs = Row(x, b, _c), ys = Row(y, b, _c);
            float r = 1 / MathF.Sqrt(TensorPrimitives.SumOfSquares(xs) / _c + _eps);
            TensorPrimitives.Multiply(xs, r, ys);
            TensorPrimitives.Multiply(ys, w, ys);
        }
    }

    static Span<float> Row(float* m, int row, int width) => new(m + (long)row * width, width);

    static (int Start, int End) Split(int rows, int part, int parts) => DecoderProjection.Split(rows, part, parts);

    static float* Pointer(Tensor t) => DecoderProjection.Pointer(t);

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _team.Dispose();   // q8 weights belong to the model's entry in Quantized8, freed with it
        foreach (var b in new[] { (IntPtr)_x, (IntPtr)_h, (IntPtr)_tmp, (IntPtr)_qkv, (IntPtr)_att, (IntPtr)_g, (IntPtr)_u })
            NativeMemory.AlignedFree((void*)b);
        foreach (var s in _scratch) NativeMemory.AlignedFree(s);
        foreach (var p in _pack) if (p != null) NativeMemory.AlignedFree(p);
        NativeMemory.AlignedFree(_x16);
        NativeMemory.AlignedFree(_xScale);
    }
}
