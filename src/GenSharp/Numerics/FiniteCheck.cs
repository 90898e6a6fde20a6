using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using static TorchSharp.torch;

namespace GenSharp.Numerics;

/// <summary>NaN or infinite outputs are errors, never black images or garbage text: the model is damaged or overflowed.</summary>
internal static class FiniteCheck
{
    public static Tensor Images(Tensor images, string model)
    {
        using (var ok = isfinite(images).all())
            if (!ok.item<bool>()) throw new InvalidDataException($"{model} produced NaN or infinite pixel values; its weights are damaged or overflow");
        return images;
    }

    public static void Logits(ReadOnlySpan<float> logits)
    {
        // One SIMD sum: NaN or ±∞ anywhere makes it non-finite (real logits are far too small to overflow).
        if (!float.IsFinite(TensorPrimitives.Sum(logits)))
            throw new InvalidDataException("the language model produced NaN or infinite logits; its weights are damaged or overflow");
    }
}
