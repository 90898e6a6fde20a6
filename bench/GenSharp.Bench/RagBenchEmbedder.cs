using System.Diagnostics;
using GenSharp.Rag.Index;
using GenSharp.Rag.Retrieval;

namespace GenSharp.Bench;

/// <summary>What the retrieval benchmarks share: opening an embedder as the CLI does, and approximate search measured against exact.</summary>
static class RagBenchEmbedder
{
    public static IndexEmbedder Open(string dir) => IndexEmbedder.Open(dir);   // the CLI's id: the same index serves both

    /// <summary>
    /// Recall@10 of approximate search against exact search, and its latency, at several probe counts. A returned chunk counts
    /// when its cosine is at least the exact 10th best (ann-benchmarks' definition, 1e-6 tolerance): the man pages hold many
    /// identical chunks with identical vectors, so which ten of a tie exact search lists is arbitrary.
    /// </summary>
    public static List<object> ApproximateVsExact(IRagStore store, IndexEmbedder embedder, string name, IReadOnlyList<string> queries, int[]? probes = null)
    {
        var vectors = embedder.Generator.GenerateAsync(queries).GetAwaiter().GetResult().Select(v => v.Vector.ToArray()).ToList();
        foreach (var v in vectors) store.SearchVectors(v, 10);   // warm the caches
        var exactMs = new List<double>();
        var exact = vectors.Select(v =>
        {
            var sw = Stopwatch.StartNew();
            var hits = store.SearchVectors(v, 10);
            exactMs.Add(sw.Elapsed.TotalMilliseconds);
            return (Count: hits.Count, Tenth: hits.Count == 0 ? double.NegativeInfinity : hits[^1].Score);
        }).ToList();
        var results = new List<object> { new { corpus = name, search = "exact", probes = 0, recall_at_10 = 1.0, p50_ms = Percentile(exactMs, 0.5), p95_ms = Percentile(exactMs, 0.95) } };
        Console.WriteLine($"  exact vector search: p50 {Percentile(exactMs, 0.5):F1} ms, p95 {Percentile(exactMs, 0.95):F1} ms ({queries.Count} queries)");
        foreach (var p in probes ?? [8, 16, 32, 64, 128])
        {
            var ms = new List<double>();
            double recall = 0;
            for (int i = 0; i < vectors.Count; i++)
            {
                var sw = Stopwatch.StartNew();
                var hits = store.SearchVectors(vectors[i], 10, probes: p);
                ms.Add(sw.Elapsed.TotalMilliseconds);
                recall += exact[i].Count == 0 ? 1 : hits.Count(h => h.Score >= exact[i].Tenth - 1e-6) / (double)exact[i].Count;
            }
            recall /= vectors.Count;
            Console.WriteLine($"  approximate, {p} probes: recall@10 vs exact {recall:P1}, p50 {Percentile(ms, 0.5):F1} ms, p95 {Percentile(ms, 0.95):F1} ms");
            results.Add(new { corpus = name, search = "approximate", probes = p, recall_at_10 = recall, p50_ms = Percentile(ms, 0.5), p95_ms = Percentile(ms, 0.95) });
        }
        return results;
    }

    public static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
