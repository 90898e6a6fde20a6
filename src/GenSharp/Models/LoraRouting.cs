using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// Which served adapter each row of one forward pass uses, and the one-hot column masks the <see cref="LoraBank"/>s multiply
/// by. A mask depends only on the rows and a group's rank, so it is made once per step and shared by every layer; its
/// tensors belong to the DisposeScope the rows were made in (the decode step's), not to the layer's that first asks.
/// </summary>
internal sealed class LoraRouting(Tensor rows, int served)
{
    readonly Dictionary<(long Rank, long Tokens), Tensor> _masks = [];

    /// <summary>Served adapters of the model: bank slots 0 … Served − 1.</summary>
    public int Served => served;

    /// <summary>
    /// (Served·rank, B·T): 1 where row j of the bank's product belongs to the column's adapter (⌊j / rank⌋ = its slot), 0
    /// elsewhere, all 0 for columns of the base model (their slot is <see cref="Served"/>); each of the B rows covers T columns.
    /// </summary>
    public Tensor Mask(long rank, long tokens, ScalarType dtype)
    {
        if (_masks.TryGetValue((rank, tokens), out var mask)) return mask;
        var slotOfRow = arange(served * rank, dtype: int64, device: rows.device).floor_divide(rank).unsqueeze(1);   // (S·R, 1)
        var columns = tokens == 1 ? rows : rows.repeat_interleave(tokens);                                          // (B·T)
        return _masks[(rank, tokens)] = slotOfRow.eq(columns.unsqueeze(0)).to(dtype).MoveToOtherDisposeScope(rows);
    }
}
