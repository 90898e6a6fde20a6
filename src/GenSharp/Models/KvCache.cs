using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// Keys and values of past tokens for a fixed number of sequence <em>slots</em>, one (slots, nkv, context, hs)
/// tensor each per layer (the layout attention reads, so a step's keys are a view, not a copy). A slot is filled front to back; sequences of different lengths share a decode
/// step through a mask, and a slot can be reset, copied (n samples of one prompt) or reordered (beams)
/// between steps, which is what continuous batching needs. Owns its tensors: dispose it.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] _keys, _values;
    readonly int[] _lengths;

    public KvCache(LlamaConfig config, int slots, Device? device = null)
    {
        if (slots < 1) throw new ArgumentException($"a KV cache needs at least one slot (got {slots})");
        Config = config;
        Context = config.MaxPositions;
        _lengths = new int[slots];
        long[] shape = [slots, config.NumKvHeads, Context, config.HeadDim];
        _keys = Enumerable.Range(0, config.NumLayers).Select(_ => zeros(shape, device: device).DetachFromDisposeScope()).ToArray();
        _values = Enumerable.Range(0, config.NumLayers).Select(_ => zeros(shape, device: device).DetachFromDisposeScope()).ToArray();
    }

    public LlamaConfig Config { get; }
    public int Slots => _lengths.Length;
    public int Context { get; }

    /// <summary>Tokens stored in <paramref name="slot"/>.</summary>
    public int Length(int slot) => _lengths[slot];

    /// <summary>Forgets a slot's tokens (its memory is reused; stale entries are masked out).</summary>
    public void Reset(int slot) => _lengths[slot] = 0;

    /// <summary>Makes each <c>targets[i]</c> a copy of <c>sources[i]</c> (sources read before any write).</summary>
    public void Copy(int[] sources, int[] targets)
    {
        if (sources.Length != targets.Length) throw new ArgumentException("sources and targets differ in length");
        if (sources.Length == 0) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var src = tensor(sources.Select(s => (long)s).ToArray(), device: _keys[0].device);
        var dst = tensor(targets.Select(s => (long)s).ToArray(), device: _keys[0].device);
        foreach (var t in _keys.Concat(_values)) t.index_copy_(0, dst, t.index_select(0, src));
        var lengths = sources.Select(s => _lengths[s]).ToArray();
        for (int i = 0; i < targets.Length; i++) _lengths[targets[i]] = lengths[i];
    }

    /// <summary>
    /// Reserves room for <paramref name="newTokens"/> more tokens in each of <paramref name="slots"/> and
    /// describes where they go. The model writes them during the forward pass that takes this step.
    /// </summary>
    public Step Begin(int[] slots, int newTokens) => Begin(slots, Enumerable.Repeat(newTokens, slots.Length).ToArray());

    /// <summary>
    /// Like <see cref="Begin(int[], int)"/> with <c>newTokens[i]</c> new tokens for row i: the input is (B, T) with
    /// T = the most, shorter rows right-padded. Padding is written after a row's tokens but not counted, so the
    /// row's next token overwrites it and the masks never show it (batched prefill of prompts of different lengths).
    /// </summary>
    public Step Begin(int[] slots, int[] newTokens)
    {
        if (newTokens.Length != slots.Length) throw new ArgumentException($"{slots.Length} slots but {newTokens.Length} token counts");
        if (newTokens.Any(n => n < 1)) throw new ArgumentException("every row of a step adds at least one token");
        int T = newTokens.Max();
        Check(slots, T);
        // Tensors below belong to the caller's DisposeScope (the decode step).
        var device = _keys[0].device;
        var start = slots.Select(s => _lengths[s]).ToArray();
        int length = start.Max() + T;
        // (B, T) absolute positions of the new tokens: RoPE angles and cache rows.
        var positions = (tensor(start.Select(p => (long)p).ToArray(), device: device).unsqueeze(1)
            + arange(T, dtype: int64, device: device));
        // Key j is visible to query (b, t) iff j ≤ start_b + t. Unneeded when every row sees every key
        // (decode of equal lengths), or for fresh rows where it is exactly the causal mask (a padded
        // row's real tokens see only real keys; what its padding sees is never read).
        bool uniform = start.All(p => p == start[0]);
        Tensor? mask = null;
        bool causal = false;
        if (uniform && start[0] == 0 && T > 1) causal = true;
        else if (!(uniform && T == 1))
            mask = (arange(length, dtype: int64, device: device).view(1, 1, length) <= positions.unsqueeze(2))
                .unsqueeze(1);                                                               // (B, 1, T, L)
        bool contiguous = slots.Zip(slots.Skip(1)).All(p => p.Second == p.First + 1);
        // Row indices for index_put/index_select, made once per step rather than per layer.
        var rows = contiguous && uniform ? null : tensor(slots.Select(s => (long)s).ToArray(), device: device);
        for (int i = 0; i < slots.Length; i++) _lengths[slots[i]] += newTokens[i];
        return new Step(this, slots, positions, mask, causal, length, uniform ? start[0] : -1, contiguous, rows);
    }

    void Check(int[] slots, int newTokens)
    {
        if (slots.Length == 0) throw new ArgumentException("a step needs at least one slot");
        if (slots.Distinct().Count() != slots.Length) throw new ArgumentException("a slot appears twice in one step");
        foreach (var s in slots)
        {
            if (s < 0 || s >= Slots) throw new ArgumentOutOfRangeException(nameof(slots), $"slot {s} is not in 0…{Slots - 1}");
            if (_lengths[s] + newTokens > Context)
                throw new ArgumentException($"slot {s} holds {_lengths[s]} tokens; {newTokens} more exceed the context of {Context}");
        }
    }

    /// <summary>
    /// One new token for each entry of <paramref name="slots"/>, for a decoder that writes the cache itself
    /// (<see cref="LlamaCpuDecoder"/>): writes each token's position to <paramref name="positions"/> and counts it. A slot
    /// may appear several times (a prompt's tokens, at successive positions). No tensors are made.
    /// </summary>
    internal void Advance(ReadOnlySpan<int> slots, int[] positions)
    {
        for (int i = 0; i < slots.Length; i++)
        {
            int s = slots[i];
            if (s < 0 || s >= Slots || _lengths[s] >= Context)
            {
                for (int j = i - 1; j >= 0; j--) _lengths[slots[j]]--;   // nothing counted on failure
                throw s < 0 || s >= Slots ? new ArgumentOutOfRangeException(nameof(slots), $"slot {s} is not in 0…{Slots - 1}")
                    : new ArgumentException($"slot {s} holds {_lengths[s]} tokens; one more exceeds the context of {Context}");
            }
            positions[i] = _lengths[s]++;
        }
    }

    /// <summary>A layer's keys or values, (slots, nkv, context, hs) contiguous fp32.</summary>
    internal Tensor Keys(int layer) => _keys[layer];
    internal Tensor Values(int layer) => _values[layer];

    /// <summary>One forward pass's view of the cache: rows <see cref="Slots"/>, each adding T tokens.</summary>
    public sealed class Step(KvCache cache, int[] slots, Tensor positions, Tensor? mask, bool causal, int length, int uniformStart, bool contiguous, Tensor? rows)
    {
        public int[] Slots => slots;
        /// <summary>Each row's served LoRA adapter, or null when no row uses one.</summary>
        internal LoraRouting? Adapters { get; private set; }

        /// <summary>Routes the rows to served adapters (−1: the base model alone) of a model serving <paramref name="served"/> of them.</summary>
        public void Route(IReadOnlyList<int> adapters, int served) =>
            Adapters = new LoraRouting(tensor(adapters.Select(a => (long)(a < 0 ? served : a)).ToArray(), device: positions.device), served);
        public Tensor Positions => positions;            // (B, T)
        public Tensor? Mask => mask;                     // (B, 1, T, L) bool, or null
        public bool Causal => causal;
        public int Length => length;                     // L: keys attended to, the longest row's length

        /// <summary>Stores k, v (B, T, nkv, hs) of <paramref name="layer"/> and returns all keys and values (B, nkv, L, hs).</summary>
        public (Tensor K, Tensor V) Update(int layer, Tensor k, Tensor v)
        {
            var (kc, vc) = (cache._keys[layer], cache._values[layer]);
            Write(kc.transpose(1, 2), k);                                                   // written through a (slots, ctx, nkv, hs) view
            Write(vc.transpose(1, 2), v);
            return (Read(kc), Read(vc));
        }

        void Write(Tensor c, Tensor x)
        {
            long T = x.shape[1];
            if (rows is null)   // consecutive slots, equal lengths: one block copy
                c.narrow(0, slots[0], slots.Length).narrow(1, uniformStart, T).copy_(x);
            else
                c.index_put_(x, rows.unsqueeze(1).expand(-1, T), positions);
        }

        // Consecutive slots are a view; others are gathered.
        Tensor Read(Tensor c) => contiguous
            ? c.narrow(0, slots[0], slots.Length).narrow(2, 0, length)
            : c.narrow(2, 0, length).index_select(0, rows!);
    }

    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values)) t.Dispose();
    }
}
