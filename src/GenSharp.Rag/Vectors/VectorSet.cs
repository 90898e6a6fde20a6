using System.Numerics.Tensors;

namespace GenSharp.Rag.Vectors;

/// <summary>
/// One collection and tenant's vectors in memory, one contiguous row-major block, rows grouped by their IVF list so a probe
/// scans whole ranges. Exact search is a SIMD dot product per row (TensorPrimitives) into a top-k heap.
/// </summary>
internal sealed class VectorSet
{
    readonly long[] _ids;
    readonly float[] _data;
    readonly int[] _listStarts;   // rows of list l are [_listStarts[l], _listStarts[l+1]); one list (everything) without IVF

    public VectorSet(long[] ids, float[] data, int dims, int[] listStarts)
    {
        if (data.Length != (long)ids.Length * dims) throw new ArgumentException("vector data does not match the row count");
        (_ids, _data, Dims, _listStarts) = (ids, data, dims, listStarts);
    }

    public int Dims { get; }
    public int Count => _ids.Length;

    /// <summary>The <paramref name="k"/> rows of highest dot product with <paramref name="query"/>, over every row.</summary>
    public List<(long Id, float Score)> Exact(ReadOnlySpan<float> query, int k) => Scan(query, k, [0], [_ids.Length]);

    /// <summary>The same over the rows of the given IVF lists only.</summary>
    public List<(long Id, float Score)> Lists(ReadOnlySpan<float> query, int k, IEnumerable<int> lists)
    {
        var from = new List<int>();
        var to = new List<int>();
        foreach (var l in lists)
            if (l + 1 < _listStarts.Length) { from.Add(_listStarts[l]); to.Add(_listStarts[l + 1]); }
        return Scan(query, k, from, to);
    }

    List<(long Id, float Score)> Scan(ReadOnlySpan<float> query, int k, IReadOnlyList<int> from, IReadOnlyList<int> to)
    {
        if (query.Length != Dims) throw new ArgumentException($"the query vector has {query.Length} dimensions; the index holds {Dims}");
        var top = new TopK(k);
        var data = _data.AsSpan();
        for (int r = 0; r < from.Count; r++)
            for (int i = from[r]; i < to[r]; i++)
                top.Offer(_ids[i], TensorPrimitives.Dot(query, data.Slice(i * Dims, Dims)));
        return top.Best();
    }
}
