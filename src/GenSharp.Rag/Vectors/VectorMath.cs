using System.Numerics.Tensors;

namespace GenSharp.Rag.Vectors;

internal static class VectorMath
{
    /// <summary>Scales <paramref name="v"/> to unit length in place (cosine = dot product); NaN or infinite values are refused.</summary>
    public static float[] Unit(float[] v)
    {
        float norm = TensorPrimitives.Norm(v);
        if (!float.IsFinite(norm)) throw new InvalidOperationException("the embedder returned a vector with NaN or infinite values");
        if (norm > 0) TensorPrimitives.Divide(v, norm, v);
        return v;
    }
}
