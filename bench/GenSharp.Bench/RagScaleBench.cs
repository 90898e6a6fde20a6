using System.Diagnostics;
using GenSharp.Rag.Chunking;
using GenSharp.Rag.Evaluation;
using GenSharp.Rag.Index;
using GenSharp.Rag.Retrieval;

namespace GenSharp.Bench;

/// <summary>
/// The stores at 10k and 100k chunks (docs/benchmarks.md, "Retrieval at scale"): the first N chunks (whole files, file order)
/// of an existing index — the man-page corpus with gcloud's pages — are written into a fresh SQLite index and a fresh
/// PostgreSQL schema, embedded, and queried: write and embed throughput, latency p50/p95 of full-text, exact vector,
/// approximate vector (IVF in SQLite, HNSW in PostgreSQL; recall@10 against exact) and hybrid search, each timed on a
/// second pass over the queries (the first warms the caches).
/// </summary>
static class RagScaleBench
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var embedder = RagBenchEmbedder.Open(Arg("--embedder") ?? throw new ArgumentException("--embedder is required"));
        var sourceDir = Arg("--source") ?? throw new ArgumentException("--source INDEX_DIR is required");
        var queries = RetrievalEvaluator.ReadQueries(Arg("--queries") ?? throw new ArgumentException("--queries is required")).Select(q => q.Query).Take(300).ToList();
        var sizes = (Arg("--sizes") ?? "10000,100000").Split(',').Select(int.Parse).ToArray();
        var url = Arg("--store");
        var outDir = Directory.CreateDirectory(Arg("--out") ?? "runs/rag-scale").FullName;
        int? lists = Arg("--lists") is { } l ? int.Parse(l) : null;   // IVF lists in SQLite (default 4√n)
        using var source = RagIndex.Open(sourceDir);
        foreach (var size in sizes)
        {
            var files = Read(source, size);
            int chunks = files.Sum(f => f.Chunks.Count);
            Console.WriteLine($"## {chunks:N0} chunks ({files.Count:N0} files)");
            var dir = Path.Combine(outDir, $"sqlite-{size}");
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
            using (var sqlite = RagIndex.Open(dir)) Measure("SQLite", sqlite, files, embedder, queries, sqliteProbes: true, lists);
            if (url is not null)
            {
                using var pg = PostgresStore.Open($"{url}{(url.Contains('?') ? '&' : '?')}schema=bench_{size}");
                pg.Drop();
                using var fresh = PostgresStore.Open($"{url}{(url.Contains('?') ? '&' : '?')}schema=bench_{size}");
                Measure("PostgreSQL", fresh, files, embedder, queries, sqliteProbes: false, null);
            }
        }
        return 0;
    }

    sealed record SourceFile(string Path, string Sha, long Bytes, string Loader, string? Title, List<Chunk> Chunks);

    // Whole files in file order until at least `size` chunks.
    static List<SourceFile> Read(RagIndex source, int size)
    {
        var files = new List<SourceFile>();
        using var cmd = source.Connection.CreateCommand();
        cmd.CommandText = """
            SELECT f.id, f.path, f.sha256, f.bytes, f.loader, f.title, c.id, c.ordinal, c.heading, c.text, c.page, c.offset, c.tokens
            FROM files f JOIN chunks c ON c.file_id = f.id ORDER BY f.id, c.ordinal
            """;
        using var r = cmd.ExecuteReader();
        long current = -1;
        int total = 0;
        while (r.Read())
        {
            if (r.GetInt64(0) != current)
            {
                if (total >= size) break;
                current = r.GetInt64(0);
                files.Add(new SourceFile(r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), []));
            }
            files[^1].Chunks.Add(new Chunk(r.GetString(6), r.GetInt32(7), r.GetString(8), r.GetString(9), r.IsDBNull(10) ? null : r.GetInt32(10), r.GetInt64(11), r.GetInt32(12)));
            total++;
        }
        return files;
    }

    static void Measure(string name, IRagStore store, List<SourceFile> files, IndexEmbedder embedder, List<string> queries, bool sqliteProbes, int? lists)
    {
        int chunks = files.Sum(f => f.Chunks.Count);
        var sw = Stopwatch.StartNew();
        using (var write = store.BeginWrite())
        {
            foreach (var f in files) write.Add("default", "", f.Path, f.Sha, f.Bytes, f.Loader, f.Title, f.Chunks);
            write.Commit();
        }
        double writeSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var (embedded, built) = store.EmbedAll(embedder, sqliteProbes ? lists ?? Rag.Vectors.IvfIndex.DefaultLists(chunks) : null);
        Console.WriteLine($"### {name}: write {chunks / writeSeconds:N0} chunks/s; embed + {(sqliteProbes ? $"IVF ({built:N0} lists)" : "HNSW")} {embedded / sw.Elapsed.TotalSeconds:N0} chunks/s ({sw.Elapsed.TotalSeconds:F1} s)");
        var retriever = new Retriever(store, embedder) { Probes = sqliteProbes ? 64 : 80 };
        if (store is RagIndex sqlite)
        {
            sw.Restart();
            var postings = sqlite.Postings(build: true)!;
            Console.WriteLine($"BM25 postings read into memory: {postings.Documents:N0} chunks, {postings.Postings:N0} postings in {sw.Elapsed.TotalSeconds:F2} s");
        }
        Console.WriteLine($"| search | p50 ms | p95 ms |");
        Console.WriteLine("|---|---|---|");
        var searches = new List<(string, Func<string, object>)>
        {
            (sqliteProbes ? "BM25 in FTS5 (bm25())" : "full text (ts_rank)", q => store is RagIndex s ? s.FullTextSearch(RagIndex.Terms(q), 50, "default", "") : store.Search(q, 50)),
        };
        if (store is RagIndex) searches.Add(("BM25 from postings in memory (same scores)", q => store.Search(q, 50)));
        searches.Add(($"hybrid ({(sqliteProbes ? "IVF 64 probes" : "HNSW ef_search 80")})", q => retriever.Search(q, 50, SearchMode.Hybrid)));
        foreach (var (label, search) in searches)
        {
            foreach (var q in queries) search(q);   // warm: the first pass reads the pages into the caches
            var ms = queries.Select(q => { var t = Stopwatch.StartNew(); search(q); return t.Elapsed.TotalMilliseconds; }).ToList();
            Console.WriteLine($"| {label} | {RagBenchEmbedder.Percentile(ms, 0.5):F1} | {RagBenchEmbedder.Percentile(ms, 0.95):F1} |");
        }
        RagBenchEmbedder.ApproximateVsExact(store, embedder, name, queries, sqliteProbes ? [32, 64, 128, 256] : [40, 80, 160, 320, 640]);
    }
}
