using System.Diagnostics;
using System.Text.Json;
using GenSharp.Rag.Evaluation;
using GenSharp.Rag.Index;
using GenSharp.Rag.Ingest;
using GenSharp.Rag.Loaders;
using GenSharp.Rag.Retrieval;

namespace GenSharp.Bench;

/// <summary>
/// Retrieval on Debian's man pages (docs/benchmarks.md, "Retrieval"): every page of /usr/share/man/man1 and man8 is
/// ingested without its NAME section; each page's NAME description ("list directory contents") is a query whose relevant
/// document is that page (and any other page with the same description). Reported with and without the image's
/// thousands of near-identical gcloud pages; ingest throughput; recall@1/10, MRR, nDCG@10 and latency per method.
/// </summary>
static class RagManBench
{
    public static int Run(string[] args)
    {
        var outDir = Directory.CreateDirectory(ArgS(args, "--out") ?? "runs/rag-man").FullName;
        var embedder = ArgS(args, "--embedder") is { } e ? RagBenchEmbedder.Open(e) : null;   // dense and hybrid too
        bool reuse = args.Contains("--reuse");                                                   // keep an index built by an earlier run
        string[] dirs = ["/usr/share/man/man1", "/usr/share/man/man8"];
        var results = new List<object>();
        foreach (bool gcloud in new[] { false, true })
        {
            var name = gcloud ? "with-gcloud" : "without-gcloud";
            var corpus = Path.Combine(outDir, name, "pages");
            var indexDir = Path.Combine(outDir, name, "index");
            if (reuse && File.Exists(Path.Combine(indexDir, RagIndex.FileName)))
            {
                using var kept = RagIndex.Open(indexDir);
                results.AddRange(Evaluate(kept, name, corpus, gcloud, embedder, Directory.EnumerateFiles(corpus, "*", SearchOption.AllDirectories).Count(), null));
                continue;
            }
            if (Directory.Exists(corpus)) Directory.Delete(corpus, true);
            Directory.CreateDirectory(corpus);
            // A folder of links: the corpus is exactly these pages, ingested through the ordinary path.
            int pages = 0;
            foreach (var dir in dirs)
                foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
                {
                    if (!gcloud && Path.GetFileName(file).StartsWith("gcloud", StringComparison.Ordinal)) continue;
                    var sub = Path.Combine(corpus, Path.GetFileName(dir));
                    Directory.CreateDirectory(sub);
                    File.Copy(file, Path.Combine(sub, Path.GetFileName(file)));
                    pages++;
                }
            if (Directory.Exists(indexDir)) Directory.Delete(indexDir, true);
            using var index = RagIndex.Open(indexDir);
            var loader = new ManPageLoader(skipSections: ["NAME"]);
            var sw = Stopwatch.StartNew();
            var summary = Ingestor.Ingest(index, [corpus], new IngestOptions(), loaders: [loader]);
            double seconds = sw.Elapsed.TotalSeconds;
            var (files, chunks) = index.Count();
            Console.WriteLine($"{name}: {pages:N0} pages in {string.Join(" and ", dirs)}; {files:N0} indexed ({summary.Skipped.Count:N0} skipped: " +
                $"{string.Join(", ", summary.Skipped.GroupBy(s => s.Reason.Split(':')[^1].Trim()).OrderByDescending(g => g.Count()).Take(3).Select(g => $"{g.Key} ×{g.Count()}"))}), " +
                $"{chunks:N0} chunks; ingest {seconds:F1} s = {files / seconds:F0} pages/s, {chunks / seconds:F0} chunks/s");

            results.AddRange(Evaluate(index, name, corpus, gcloud, embedder, pages, seconds));
        }
        File.WriteAllText(Path.Combine(outDir, "rag-man.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    static List<object> Evaluate(RagIndex index, string name, string corpus, bool gcloud, GenSharp.Rag.Retrieval.IndexEmbedder? embedder, int pages, double? seconds)
    {
        var results = new List<object>();
        var (files, chunks) = index.Count();
        var outDir = Path.GetDirectoryName(Path.GetDirectoryName(corpus))!;
        // Queries: each indexed page's NAME description; relevant = every indexed page with that description.
        var titles = new Dictionary<string, string>();
        var plain = new ManPageLoader();
        foreach (var file in Directory.EnumerateFiles(corpus, "*", SearchOption.AllDirectories))
        {
            try { if (plain.Load(file, File.ReadAllBytes(file)).Title is { } t && t.IndexOf(" - ", StringComparison.Ordinal) is > 0 and var dash) titles[file] = t[(dash + 3)..].Trim(); }
            catch (InvalidDataException) { }
        }
        var indexed = index.Sources().ToHashSet(StringComparer.Ordinal);
        var queries = titles.Where(t => indexed.Contains(t.Key) && t.Value.Length > 0).GroupBy(t => t.Value)
            .Select(g => new RetrievalQuery(g.Key, g.Select(t => t.Key).ToHashSet(StringComparer.Ordinal))).OrderBy(q => q.Query, StringComparer.Ordinal).ToList();
        File.WriteAllLines(Path.Combine(outDir, name, "queries.jsonl"), queries.Select(q => JsonSerializer.Serialize(new { query = q.Query, relevant = q.Relevant.Order() })));
        // The gcloud pages' own queries: a seeded sample of 500 (all of them would take the bench half an hour).
        static bool IsGcloud(RetrievalQuery q) => q.Relevant.All(p => Path.GetFileName(p).StartsWith("gcloud", StringComparison.Ordinal));
        var sets = new List<(string Name, List<RetrievalQuery> Queries)> { ("other pages' queries", [.. queries.Where(q => !IsGcloud(q))]) };
        if (gcloud)
        {
            var own = queries.Where(IsGcloud).ToArray();   // already in ordinal order of the query text
            new Random(1).Shuffle(own);
            sets.Add(("gcloud pages' queries (500 of them)", [.. own.Take(500)]));
        }
        if (embedder is not null)
        {
            var sw = Stopwatch.StartNew();
            var (embedded, lists) = index.EmbedAll(embedder);
            if (embedded > 0) Console.WriteLine($"  embedded {embedded:N0} chunks in {sw.Elapsed.TotalSeconds:F1} s ({embedded / sw.Elapsed.TotalSeconds:N0} chunks/s){(lists > 0 ? $"; IVF: {lists:N0} lists" : "")} by {embedder.Id}");
        }
        var retriever = new Retriever(index, embedder);
        SearchMode[] modes = embedder is null ? [SearchMode.Bm25] : [SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid];
        foreach (var (setName, set) in sets)
        {
            Console.WriteLine($"  {setName}: {set.Count:N0}");
            foreach (var mode in modes)
            {
                var report = RetrievalEvaluator.Evaluate(mode.ToString().ToLowerInvariant(), set, (q, n) => retriever.Search(q, n, mode), 10);
                Console.WriteLine($"    {report.Method,-6}: recall@1 {report.RecallAt1:P1}, recall@10 {report.RecallAtK:P1}, MRR {report.Mrr:F3}, " +
                    $"nDCG@10 {report.NdcgAt10:F3}, latency p50 {report.LatencyP50Ms:F1} ms, p95 {report.LatencyP95Ms:F1} ms");
                results.Add(new { corpus = name, queries = setName, pages, indexed = files, chunks, ingest_seconds = seconds, report });
            }
        }
        if (embedder is not null && index.VectorCount().Lists > 0)
            results.AddRange(RagBenchEmbedder.ApproximateVsExact(index, embedder, name, sets[0].Queries.Select(q => q.Query).Take(500).ToList()));

        return results;
    }

    static string? ArgS(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
