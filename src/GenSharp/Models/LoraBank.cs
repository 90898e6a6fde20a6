using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// The served adapters of one module's projections, by bank slot, applied to a batch in one gather: projections that read
/// the same input (q, k and v; gate and up) are stacked together — their A side by side along the rank, their B block-
/// diagonal with α/r folded in, ranks padded, a zero slot last for rows without an adapter — so every row picks its own
/// with one index_select and two batched products give all rows' updates of the whole group at once. The cost does not
/// grow with the number of adapters in the batch (the BGMV idea of Punica, Chen et al. 2023).
/// </summary>
internal sealed class LoraBank
{
    readonly Dictionary<string, List<LoraLayer?>> _layers = [];
    readonly Dictionary<string, (Tensor A, Tensor B)> _stacked = [];   // A (S, R, in), B (S, out, R)

    public bool IsEmpty => _layers.Count == 0;

    /// <summary>Slot <paramref name="slot"/>'s update of <paramref name="projection"/> (null: that adapter leaves it alone).</summary>
    public void Add(string projection, int slot, LoraLayer? layer)
    {
        if (!_layers.TryGetValue(projection, out var list)) _layers[projection] = list = [];
        while (list.Count < slot) list.Add(null);
        list.Add(layer);
        foreach (var (_, (a, b)) in _stacked) { a.Dispose(); b.Dispose(); }   // restacked on next use
        _stacked.Clear();
    }

    /// <summary>
    /// Every row's update of a group of projections that read x (B, T, in), concatenated along the output like the group's
    /// fused product: <paramref name="rows"/> (B) holds each row's slot, the zero slot (the number of adapters) for rows of
    /// the base model. Null when no adapter touches the group.
    /// </summary>
    public Tensor? Delta((string Name, long Out)[] group, Tensor x, Tensor rows)
    {
        if (!group.Any(p => _layers.TryGetValue(p.Name, out var l) && l.Any(x => x is not null))) return null;
        var key = string.Join(",", group.Select(p => p.Name));
        if (!_stacked.TryGetValue(key, out var stacked)) _stacked[key] = stacked = Stack(group, x.shape[^1], x);
        var a = stacked.A.index_select(0, rows);                  // (B, R, in)
        var b = stacked.B.index_select(0, rows);                  // (B, out, R)
        return x.bmm(a.transpose(1, 2)).bmm(b.transpose(1, 2));   // (B, T, R) → (B, T, out)
    }

    (Tensor A, Tensor B) Stack((string Name, long Out)[] group, long inFeatures, Tensor like)
    {
        int slots = _layers.Values.Max(l => l.Count) + 1;   // the last slot stays zero: rows of the base model
        var ranks = group.Select(p => Math.Max(1, _layers.TryGetValue(p.Name, out var l) ? l.Max(x => x?.Rank ?? 0) : 0)).ToArray();
        using var _ = no_grad();
        var a = zeros([slots, ranks.Sum(), inFeatures], like.dtype, like.device);
        var b = zeros([slots, group.Sum(p => p.Out), ranks.Sum()], like.dtype, like.device);
        long rankAt = 0, outAt = 0;
        for (int g = 0; g < group.Length; g++)
        {
            if (_layers.TryGetValue(group[g].Name, out var list))
                for (int i = 0; i < list.Count; i++)
                    if (list[i] is { } l)
                    {
                        a[i].narrow(0, rankAt, l.Rank).copy_(l.A);
                        b[i].narrow(0, outAt, group[g].Out).narrow(1, rankAt, l.Rank).copy_(l.B * l.Scale);
                    }
            rankAt += ranks[g];
            outAt += group[g].Out;
        }
        return (a.DetachFromDisposeScope(), b.DetachFromDisposeScope());
    }
}
