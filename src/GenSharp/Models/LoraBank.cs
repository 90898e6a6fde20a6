using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// The served adapters of one module's projections, applied to a batch whose rows use different adapters (multi-LoRA).
/// Projections that read the same input (q, k and v; gate and up) form a group. The group's base weights and every served
/// adapter's A are stacked into one matrix — the base weights become views into it, so the model still holds one copy —
/// and B, with α/r folded in, into a block-diagonal out × S·R matrix (slot-major, ranks padded). A step then costs three
/// kernels per group whatever the adapters in the batch (M = the batch's B·T rows, as columns):
///   [y; h] = [W; A_all]·xᵀ     the base products and every adapter's A·x in one product,
///   h ⊙ mask                   keeps each row's own adapter's part (<see cref="LoraRouting.Mask"/>),
///   y + B_all·h                adds the updates in the product (addmm).
/// Reading every adapter's A and B once beats gathering a copy per row (Punica's BGMV, Chen et al. 2023) on a CPU, where a
/// decode step of a small model is bound by kernel launches and memory traffic; the price is x·A_allᵀ growing with the
/// number of served adapters (S·R extra output columns per group).
/// </summary>
internal sealed class LoraBank
{
    readonly Dictionary<string, List<LoraLayer?>> _layers = [];
    readonly Dictionary<string, Fused> _fused = [];

    /// <summary>Weight (out + S·R, in): the group's base weights, then every slot's A; B (out, S·R), block-diagonal.</summary>
    sealed record Fused(Tensor Weight, Tensor B, long Out, long Rank, int Slots);

    public bool IsEmpty => _layers.Count == 0;

    /// <summary>Slot <paramref name="slot"/>'s update of <paramref name="projection"/> (null: that adapter leaves it alone).</summary>
    public void Add(string projection, int slot, LoraLayer? layer)
    {
        if (!_layers.TryGetValue(projection, out var list)) _layers[projection] = list = [];
        while (list.Count < slot) list.Add(null);
        list.Add(layer);
    }

    /// <summary>
    /// The group's products of x (B, T, in), concatenated along the output in group order, each row plus its served
    /// adapter's update; null when no served adapter touches the group (the caller's own products are then the answer).
    /// </summary>
    public Tensor? Project((string Name, Linear Projection)[] group, Tensor x, LoraRouting routing)
    {
        if (!group.Any(p => _layers.TryGetValue(p.Name, out var l) && l.Any(x => x is not null))) return null;
        var key = string.Join(",", group.Select(p => p.Name));
        if (!_fused.TryGetValue(key, out var f) || f.Slots != routing.Served) _fused[key] = f = Fuse(group, routing.Served, f);
        // Weight-first, like Inference.Linear (MKL is faster so for the few rows of a decode step), which also keeps the
        // base and adapter parts contiguous row blocks: yᵀ = [W; A_all]·xᵀ, (out + S·R, M) with M = B·T.
        long sr = f.Slots * f.Rank;
        var y = f.Weight.matmul(x.reshape(-1, x.shape[^1]).t());
        // In place on y's two row blocks: no copies, no new buffers (the step is bound by kernels, not arithmetic).
        var h = y.narrow(0, f.Out, sr).mul_(routing.Mask(f.Rank, x.shape[1], x.dtype));       // (S·R, M)
        var o = y.narrow(0, 0, f.Out).addmm_(f.B, h);                                          // (out, M)
        return o.t().reshape([.. x.shape[..^1], f.Out]);                                       // (B, T, out)
    }

    Fused Fuse((string Name, Linear Projection)[] group, int slots, Fused? old)
    {
        var ranks = group.Select(p => Math.Max(1, _layers.TryGetValue(p.Name, out var l) ? l.Max(x => x?.Rank ?? 0) : 0)).ToArray();
        long rank = ranks.Sum(), outFeatures = group.Sum(p => p.Projection.weight!.shape[0]);
        var like = group[0].Projection.weight!;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var a = zeros([slots * rank, like.shape[1]], like.dtype, like.device);
        var b = zeros([outFeatures, slots * rank], like.dtype, like.device);
        long rankAt = 0, outAt = 0;
        for (int g = 0; g < group.Length; g++)
        {
            long width = group[g].Projection.weight!.shape[0];
            if (_layers.TryGetValue(group[g].Name, out var list))
                for (int i = 0; i < Math.Min(list.Count, slots); i++)
                    if (list[i] is { } l)
                    {
                        a.narrow(0, i * rank + rankAt, l.Rank).copy_(l.A);                                          // (r, in)
                        b.narrow(0, outAt, width).narrow(1, i * rank + rankAt, l.Rank).copy_(l.B * l.Scale);   // (out, r)
                    }
            rankAt += ranks[g];
            outAt += width;
        }
        var weight = cat([.. group.Select(p => p.Projection.weight!), a], 0);
        ProjectionStack.Rehome(group.Select(p => p.Projection), weight);   // the base weights become views into the stack
        if (old is not null) { old.Weight.Dispose(); old.B.Dispose(); }
        return new Fused(weight.DetachFromDisposeScope(), b.DetachFromDisposeScope(), outFeatures, rank, slots);
    }
}
