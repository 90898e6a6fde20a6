using GenSharp.Numerics;
using static TorchSharp.torch;

namespace GenSharp.Rag.Vectors;

/// <summary>
/// Spherical k-means (Dhillon &amp; Modha 2001) for unit vectors: each vector joins the centroid of highest dot product, each
/// centroid becomes its members' mean scaled to unit length (Lloyd's iterations). Seeds are distinct rows drawn by a hash
/// of the seed; an empty cluster is re-seeded with the vector its centroid fits worst. The products run as one matrix
/// multiplication per block (libtorch), so 100k × 1k × 128 takes seconds, not minutes.
/// </summary>
internal static class KMeans
{
    const int Block = 16_384;

    /// <summary>Centroids (k × dims, row-major) of <paramref name="data"/> (n × dims).</summary>
    public static float[] Fit(float[] data, int dims, int k, int iterations, long seed)
    {
        int n = data.Length / dims;
        if (k < 1 || k > n) throw new ArgumentException($"k-means needs 1 ≤ k ≤ {n} vectors (got k = {k})");
        using var scope = NewDisposeScope();
        var x = tensor(data).view(n, dims);
        var picks = Enumerable.Range(0, n).OrderBy(i => SplitMix64.Hash((ulong)seed, (ulong)i)).Take(k).Select(i => (long)i).ToArray();
        var centroids = x.index_select(0, tensor(picks)).clone();
        for (int it = 0; it < iterations; it++)
        {
            var (assign, best) = Assign(x, centroids);
            var sums = zeros(k, dims).index_add_(0, assign, x, 1);
            var counts = bincount(assign, minlength: k);
            var empty = (counts == 0).nonzero().view(-1);
            if (empty.numel() > 0)   // worst-fitting vectors become the empty clusters' new centroids
                sums.index_copy_(0, empty, x.index_select(0, best.argsort().narrow(0, 0, empty.numel())));
            centroids = nn.functional.normalize(sums, p: 2, dim: 1);
        }
        return centroids.contiguous().data<float>().ToArray();
    }

    /// <summary>Each row's nearest centroid (by dot product) and that product.</summary>
    public static (Tensor Assign, Tensor Best) Assign(Tensor x, Tensor centroids)
    {
        var assign = new List<Tensor>();
        var best = new List<Tensor>();
        for (long i = 0; i < x.shape[0]; i += Block)
        {
            var (values, indices) = x.narrow(0, i, Math.Min(Block, x.shape[0] - i)).matmul(centroids.t()).max(1);
            assign.Add(indices);
            best.Add(values);
        }
        return (cat(assign), cat(best));
    }
}
