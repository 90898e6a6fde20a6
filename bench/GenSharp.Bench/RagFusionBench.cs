using GenSharp.Rag.Evaluation;
using GenSharp.Rag.Index;
using GenSharp.Rag.Retrieval;

namespace GenSharp.Bench;

/// <summary>
/// How hybrid retrieval depends on reciprocal-rank fusion's constant k and on how deep each ranking goes: both rankings are
/// computed once per query (100 deep), then fused every way. Reported on two halves of the queries (odd and even lines),
/// so a setting picked on one half is judged on the other.
/// </summary>
static class RagFusionBench
{
    public static int Run(string[] args)
    {
        string Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? throw new ArgumentException($"{name} is required");
        using var index = RagIndex.Open(Arg("--index"));
        var embedder = RagBenchEmbedder.Open(Arg("--embedder"));
        var queries = RetrievalEvaluator.ReadQueries(Arg("--queries"));
        var retriever = new Retriever(index, embedder);
        var lists = queries.Select(q => (Bm25: retriever.Search(q.Query, 100, SearchMode.Bm25), Dense: retriever.Search(q.Query, 100, SearchMode.Dense))).ToList();
        // Each setting judged on both halves of the queries (odd and even lines): the ranking of query i comes from rank(i).
        (RetrievalReport Odd, RetrievalReport Even) Halves(string name, Func<int, IReadOnlyList<SearchHit>> rank)
        {
            RetrievalReport Half(int parity)
            {
                var half = Enumerable.Range(0, queries.Count).Where(i => i % 2 == parity).ToList();
                var byQuery = half.ToDictionary(i => queries[i].Query, i => i);
                return RetrievalEvaluator.Evaluate(name, [.. half.Select(i => queries[i])], (q, n) => rank(byQuery[q]), 10);
            }
            return (Half(1), Half(0));
        }
        static string Row((RetrievalReport Odd, RetrievalReport Even) r) => $"{r.Odd.RecallAtK:P1} | {r.Even.RecallAtK:P1} | {r.Odd.Mrr:F3} | {r.Even.Mrr:F3} |";
        Console.WriteLine("| k | depth | recall@10 odd half | recall@10 even half | MRR odd | MRR even |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var k in new[] { 1, 10, 30, 60, 120 })
            foreach (var depth in new[] { 10, 20, 50, 100 })
                Console.WriteLine($"| {k} | {depth} | {Row(Halves("hybrid", i => ReciprocalRankFusion.Fuse([lists[i].Bm25.Take(depth).ToList(), lists[i].Dense.Take(depth).ToList()], k)))}");
        // Convex combination of scores normalised per list (Bruch et al. 2023): α·bm25/max + (1 − α)·(cos − min)/(max − min).
        Console.WriteLine();
        Console.WriteLine("| α (BM25 weight) | depth | recall@10 odd half | recall@10 even half | MRR odd | MRR even |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var alpha in new[] { 0.2, 0.3, 0.4, 0.5, 0.6, 0.7 })
            foreach (var depth in new[] { 20, 50, 100 })
                Console.WriteLine($"| {alpha} | {depth} | {Row(Halves("convex", i => ConvexFuse(lists[i].Bm25.Take(depth).ToList(), lists[i].Dense.Take(depth).ToList(), alpha)))}");
        // Pseudo-relevance feedback for the dense side (Rocchio): q' = q + β·mean(vectors of the fused top m), searched again, fused again.
        var gen = embedder.Generator;
        float[] Embed(string t) => gen.GenerateAsync([t]).GetAwaiter().GetResult()[0].Vector.ToArray();
        Console.WriteLine();
        Console.WriteLine("| PRF m | β | recall@10 odd half | recall@10 even half | MRR odd | MRR even | dense alone odd / even |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var qv = queries.Select(q => Embed(q.Query)).ToList();
        foreach (var m in new[] { 3, 5, 10 })
        {
            var fb = lists.Select(l => ReciprocalRankFusion.Fuse([l.Bm25, l.Dense], 10).Take(m).Select(h => Embed(RagIndex.EmbeddingText(h.Heading, h.Text))).ToList()).ToList();
            foreach (var beta in new[] { 0.3, 0.6, 1.0 })
            {
                var prf = Enumerable.Range(0, queries.Count).Select(i =>
                {
                    var v = (float[])qv[i].Clone();
                    foreach (var f in fb[i]) for (int j = 0; j < v.Length; j++) v[j] += (float)(beta / fb[i].Count) * f[j];
                    return index.SearchVectors(v, 100);
                }).ToList();
                var dense = Halves("prf-dense", i => prf[i]);
                Console.WriteLine($"| {m} | {beta} | {Row(Halves("prf", i => ReciprocalRankFusion.Fuse([lists[i].Bm25, prf[i]], 10)))} {dense.Odd.RecallAtK:P1} / {dense.Even.RecallAtK:P1} |");
            }
        }
        foreach (var (mode, pick) in new (string, Func<(IReadOnlyList<SearchHit> Bm25, IReadOnlyList<SearchHit> Dense), IReadOnlyList<SearchHit>>)[] { ("bm25", l => l.Bm25), ("dense", l => l.Dense) })
        {
            var (odd, even) = Halves(mode, i => pick(lists[i]));
            Console.WriteLine($"{mode} alone, odd half: recall@10 {odd.RecallAtK:P1}, MRR {odd.Mrr:F3}");
            Console.WriteLine($"{mode} alone, even half: recall@10 {even.RecallAtK:P1}, MRR {even.Mrr:F3}");
        }
        return 0;
    }

    static List<SearchHit> ConvexFuse(List<SearchHit> bm25, List<SearchHit> dense, double alpha)
    {
        var fused = new Dictionary<(string, string), (SearchHit Hit, double Score)>();
        void Add(List<SearchHit> list, double weight)
        {
            if (list.Count == 0) return;
            double max = list.Max(h => h.Score), min = list.Min(h => h.Score), span = max - min;
            foreach (var h in list)
            {
                double v = weight * (span > 0 ? (h.Score - min) / span : 1);
                var key = (h.Source, h.ChunkId);
                fused[key] = fused.TryGetValue(key, out var f) ? (f.Hit, f.Score + v) : (h, v);
            }
        }
        Add(bm25, alpha);
        Add(dense, 1 - alpha);
        return [.. fused.Values.OrderByDescending(f => f.Score).Select(f => f.Hit)];
    }
}
