using GenSharp.Rag.Index;

namespace GenSharp.Rag.Retrieval;

/// <summary>
/// Reciprocal-rank fusion (Cormack, Clarke &amp; Büttcher 2009): a chunk's fused score is Σ_r 1 / (k + rank_r), summed over
/// the ranked lists r that hold it (rank from 1), with k = 60. Only ranks count, so BM25 scores and cosines need no
/// common scale, and a chunk high in either list rises.
/// </summary>
public static class ReciprocalRankFusion
{
    public const int DefaultK = 60;

    /// <summary>The fused ranking of <paramref name="lists"/>, best first, each hit carrying its fused score; ties keep first-seen order.</summary>
    public static List<SearchHit> Fuse(IEnumerable<IReadOnlyList<SearchHit>> lists, int k = DefaultK)
    {
        if (k < 0) throw new ArgumentException($"the RRF constant must be ≥ 0 (got {k})");
        var fused = new Dictionary<(string, string), (SearchHit Hit, double Score, int First)>();
        int seen = 0;
        foreach (var list in lists)
            for (int rank = 1; rank <= list.Count; rank++)
            {
                var hit = list[rank - 1];
                var key = (hit.Source, hit.ChunkId);
                double add = 1.0 / (k + rank);
                fused[key] = fused.TryGetValue(key, out var f) ? (f.Hit, f.Score + add, f.First) : (hit, add, seen++);
            }
        return [.. fused.Values.OrderByDescending(f => f.Score).ThenBy(f => f.First).Select(f => f.Hit with { Score = f.Score })];
    }
}
