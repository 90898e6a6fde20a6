using static TorchSharp.torch;

namespace GenSharp.Models;

internal static class LoraSlots
{
    /// <summary>The update of projection <paramref name="name"/> for x, or zeros (…, out) when it has none.</summary>
    public static Tensor Delta(this Dictionary<string, LoraLayer> slots, string name, Tensor x, long outFeatures, bool training) =>
        slots.TryGetValue(name, out var l) ? l.Delta(x, training) : zeros([.. x.shape[..^1], outFeatures], x.dtype, x.device);

    /// <summary>
    /// Row by row, the update of each row's served adapter (<paramref name="routes"/>: bank slot per row, −1 for none):
    /// rows of one adapter are gathered, updated together and scattered back, so several adapters share one batch.
    /// </summary>
    public static Tensor Delta(this Dictionary<string, List<LoraLayer?>> bank, string name, Tensor x, long outFeatures, int[] routes)
    {
        var result = zeros([.. x.shape[..^1], outFeatures], x.dtype, x.device);
        if (!bank.TryGetValue(name, out var layers)) return result;
        foreach (var slot in routes.Where(r => r >= 0).Distinct())
        {
            if (slot >= layers.Count || layers[slot] is not { } layer) continue;
            var rows = tensor(Enumerable.Range(0, routes.Length).Where(i => routes[i] == slot).Select(i => (long)i).ToArray(), device: x.device);
            result.index_add_(0, rows, layer.Delta(x.index_select(0, rows), training: false), 1);
        }
        return result;
    }
}
