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
        Console.WriteLine("| k | depth | recall@10 odd half | recall@10 even half | MRR odd | MRR even |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var k in new[] { 1, 10, 30, 60, 120 })
            foreach (var depth in new[] { 10, 20, 50, 100 })
            {
                RetrievalReport Half(int parity)
                {
                    var half = Enumerable.Range(0, queries.Count).Where(i => i % 2 == parity).ToList();
                    var byQuery = half.ToDictionary(i => queries[i].Query, i => i);
                    return RetrievalEvaluator.Evaluate("hybrid", [.. half.Select(i => queries[i])], (q, n) =>
                        ReciprocalRankFusion.Fuse([lists[byQuery[q]].Bm25.Take(depth).ToList(), lists[byQuery[q]].Dense.Take(depth).ToList()], k), 10);
                }
                var (odd, even) = (Half(1), Half(0));
                Console.WriteLine($"| {k} | {depth} | {odd.RecallAtK:P1} | {even.RecallAtK:P1} | {odd.Mrr:F3} | {even.Mrr:F3} |");
            }
        foreach (var (mode, pick) in new (string, Func<(IReadOnlyList<SearchHit> Bm25, IReadOnlyList<SearchHit> Dense), IReadOnlyList<SearchHit>>)[] { ("bm25", l => l.Bm25), ("dense", l => l.Dense) })
            foreach (int parity in new[] { 1, 0 })
            {
                var half = Enumerable.Range(0, queries.Count).Where(i => i % 2 == parity).ToList();
                var byQuery = half.ToDictionary(i => queries[i].Query, i => i);
                var r = RetrievalEvaluator.Evaluate(mode, [.. half.Select(i => queries[i])], (q, n) => pick(lists[byQuery[q]]), 10);
                Console.WriteLine($"{mode} alone, {(parity == 1 ? "odd" : "even")} half: recall@10 {r.RecallAtK:P1}, MRR {r.Mrr:F3}");
            }
        return 0;
    }
}
