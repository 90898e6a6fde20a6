using static TorchSharp.torch;

namespace GenSharp.Models;

internal static class LoraSlots
{
    /// <summary>The update of projection <paramref name="name"/> for x, or zeros (…, out) when it has none.</summary>
    public static Tensor Delta(this Dictionary<string, LoraLayer> slots, string name, Tensor x, long outFeatures, bool training) =>
        slots.TryGetValue(name, out var l) ? l.Delta(x, training) : zeros([.. x.shape[..^1], outFeatures], x.dtype, x.device);
}
