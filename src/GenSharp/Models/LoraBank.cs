using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// The served adapters of one module's projections, by bank slot, applied to a batch in one gather: each adapter's A and B
/// are stacked (ranks padded, α/r folded into B, a zero slot last for rows without an adapter), every row picks its own
/// with index_select, and two batched products give all rows' updates at once — the cost does not grow with the number
/// of adapters in the batch (the BGMV idea of Punica, Chen et al. 2023).
/// </summary>
internal sealed class LoraBank
{
    readonly Dictionary<string, List<LoraLayer?>> _layers = [];
    readonly Dictionary<string, (Tensor A, Tensor B)> _stacked = [];

    public bool IsEmpty => _layers.Count == 0;

    /// <summary>Slot <paramref name="slot"/>'s update of <paramref name="projection"/> (null: that adapter leaves it alone).</summary>
    public void Add(string projection, int slot, LoraLayer? layer)
    {
        if (!_layers.TryGetValue(projection, out var list)) _layers[projection] = list = [];
        while (list.Count < slot) list.Add(null);
        list.Add(layer);
        if (_stacked.Remove(projection, out var old)) { old.A.Dispose(); old.B.Dispose(); }   // restacked on next use
    }

    /// <summary>
    /// Every row's update of <paramref name="projection"/> for x (B, T, in): <paramref name="rows"/> (B) holds each row's slot,
    /// the zero slot (the number of adapters) for rows of the base model. Null when no adapter touches this projection.
    /// </summary>
    public Tensor? Delta(string projection, Tensor x, Tensor rows)
    {
        if (!_layers.TryGetValue(projection, out var list) || list.All(l => l is null)) return null;
        if (!_stacked.TryGetValue(projection, out var stacked)) _stacked[projection] = stacked = Stack(list);
        var a = stacked.A.index_select(0, rows);                  // (B, r, in)
        var b = stacked.B.index_select(0, rows);                  // (B, out, r)
        return x.bmm(a.transpose(1, 2)).bmm(b.transpose(1, 2));   // (B, T, r) → (B, T, out)
    }

    static (Tensor A, Tensor B) Stack(List<LoraLayer?> list)
    {
        var any = list.First(l => l is not null)!;
        int rank = list.Max(l => l?.Rank ?? 0);
        long inFeatures = any.A.shape[1], outFeatures = any.B.shape[0];
        using var _ = no_grad();
        var a = zeros([list.Count + 1, rank, inFeatures], any.A.dtype, any.A.device);
        var b = zeros([list.Count + 1, outFeatures, rank], any.B.dtype, any.B.device);
        for (int i = 0; i < list.Count; i++)
            if (list[i] is { } l)
            {
                a[i].narrow(0, 0, l.Rank).copy_(l.A);
                b[i].narrow(1, 0, l.Rank).copy_(l.B * l.Scale);
            }
        return (a.DetachFromDisposeScope(), b.DetachFromDisposeScope());
    }
}
