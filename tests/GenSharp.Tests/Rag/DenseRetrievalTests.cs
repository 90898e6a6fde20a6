using GenSharp.Rag.Index;
using GenSharp.Rag.Ingest;
using GenSharp.Rag.Retrieval;
using GenSharp.Rag.Vectors;
using GenSharp.Tests.Cli;
using Microsoft.Data.Sqlite;

namespace GenSharp.Tests.Rag;

/// <summary>Vectors in the SQLite index: exact search against brute force, IVF against exact, RRF by hand, tenants, embedder checks, the CLI flow.</summary>
public sealed class DenseRetrievalTests : TempDirectoryTest
{
    static float[] RandomUnit(Random rng, int dims, float[]? around = null, float spread = 1)
    {
        var v = new float[dims];
        for (int i = 0; i < dims; i++) v[i] = (around?[i] ?? 0) + spread * (float)(rng.NextDouble() * 2 - 1);
        var norm = (float)Math.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }

    [Fact]
    public void ExactSearchIsBruteForceAndIvfKeepsRecallAtTenAbove95Percent()
    {
        var rng = new Random(7);
        const int dims = 24, n = 6000;
        var centres = Enumerable.Range(0, 40).Select(_ => RandomUnit(rng, dims)).ToArray();
        var rows = Enumerable.Range(0, n).Select(i => RandomUnit(rng, dims, centres[i % centres.Length], 0.35f)).ToArray();
        var data = rows.SelectMany(r => r).ToArray();
        var ids = Enumerable.Range(0, n).Select(i => (long)i * 3).ToArray();
        var exact = new VectorSet(ids, data, dims, [0, n]);

        var ivf = IvfIndex.Train(data, dims, IvfIndex.DefaultLists(n));
        Assert.Equal(309, ivf.Lists);                                                     // 4√6000
        var assign = ivf.Assign(data);
        var order = Enumerable.Range(0, n).OrderBy(i => assign[i]).ToArray();
        var starts = new int[ivf.Lists + 1];
        foreach (var l in assign) starts[l + 1]++;
        for (int l = 1; l < starts.Length; l++) starts[l] += starts[l - 1];
        var grouped = new VectorSet([.. order.Select(i => ids[i])], [.. order.SelectMany(i => rows[i])], dims, starts);

        double recall = 0;
        const int queries = 200;
        for (int q = 0; q < queries; q++)
        {
            var query = RandomUnit(rng, dims, centres[rng.Next(centres.Length)], 0.5f);
            var brute = Enumerable.Range(0, n).Select(i => (Id: ids[i], Score: rows[i].Zip(query, (a, b) => a * b).Sum())).OrderByDescending(x => x.Score).Take(10).ToList();
            var top = exact.Exact(query, 10);
            Assert.Equal(brute.Select(b => b.Id), top.Select(t => t.Id));
            Assert.Equal(brute[0].Score, top[0].Score, 4);
            var approx = grouped.Lists(query, 10, ivf.Probe(query, 32));
            recall += approx.Select(a => a.Id).Intersect(brute.Select(b => b.Id)).Count() / 10.0;
        }
        Assert.True(recall / queries >= 0.95, $"IVF recall@10 vs exact {recall / queries:P1} with 32 of {ivf.Lists} lists probed");
        Assert.Equal(10, grouped.Lists(rows[0], 10, ivf.Probe(rows[0], ivf.Lists)).Count);   // every list probed: exact again
        Assert.Contains("dimensions", Assert.Throws<ArgumentException>(() => exact.Exact(new float[3], 5)).Message);
    }

    [Fact]
    public void ReciprocalRankFusionAddsOneOverSixtyPlusRank()
    {
        static SearchHit Hit(string id) => new(id, "file", "", id, null, 0, 0);
        var fused = ReciprocalRankFusion.Fuse([[Hit("a"), Hit("b"), Hit("c")], [Hit("c"), Hit("d"), Hit("a")]]);
        // a: 1/61 + 1/63; c: 1/63 + 1/61 (tie; a seen first); b: 1/62; d: 1/62 (b first).
        Assert.Equal(["a", "c", "b", "d"], fused.Select(h => h.ChunkId));
        Assert.Equal(1.0 / 61 + 1.0 / 63, fused[0].Score, 12);
        Assert.Equal(1.0 / 62, fused[2].Score, 12);
        Assert.Equal(["x"], ReciprocalRankFusion.Fuse([[Hit("x")], []]).Select(h => h.ChunkId));
    }



    [Fact]
    public async Task DenseAndHybridSearchStayInsideATenantAndFollowTheIndexsChanges()
    {
        using var index = RagIndex.Open(Path.Combine(_dir, "index"));
        var embedder = RagFixtures.RandomEmbedder(_dir, "enc");
        Ingestor.Ingest(index, [RagFixtures.Docs(_dir, "a", 40, "apple")], new IngestOptions { Tenant = "alice" }, embedder: embedder);
        Ingestor.Ingest(index, [RagFixtures.Docs(_dir, "b", 40, "berry")], new IngestOptions { Tenant = "bob" }, embedder: embedder);
        Assert.Equal(("test:enc", 16), index.Vectors.Embedder);
        Assert.Equal(80, index.Vectors.Count().Vectors);

        var retriever = new Retriever(index, embedder);
        var rng = new Random(3);
        string[] words = ["apple", "berry", "note", "item", "kept", "word3", "apple7", "berry9", "the", "of"];
        for (int q = 0; q < 200; q++)
        {
            var query = string.Join(' ', Enumerable.Range(0, 1 + rng.Next(3)).Select(_ => words[rng.Next(words.Length)]));
            foreach (var mode in new[] { SearchMode.Dense, SearchMode.Hybrid })
            {
                Assert.All(retriever.Search(query, 20, mode, tenant: "alice"), h => Assert.Contains("/a/", h.Source));
                Assert.All(retriever.Search(query, 20, mode, tenant: "bob"), h => Assert.Contains("/b/", h.Source));
                Assert.Empty(retriever.Search(query, 20, mode, tenant: "eve"));
            }
        }
        // Dense results are the brute-force cosine ranking of the tenant's chunks.
        var qv = (await embedder.Generator.GenerateAsync(["apple item kept"]))[0].Vector.ToArray();
        var all = index.Passages("default", "alice").ToList();
        var vectors = await embedder.Generator.GenerateAsync(all.Select(p => p.Text));
        var brute = all.Select((p, i) => (p.RowId, Score: vectors[i].Vector.ToArray().Zip(qv, (x, y) => x * y).Sum())).OrderByDescending(x => x.Score).Take(5).ToList();
        var dense = index.Vectors.Search(qv, 5, "default", "alice");
        Assert.Equal(brute.Select(b => b.RowId), dense.Select(d => d.RowId));

        // A deleted file's vectors go with its chunks; a new file is embedded on ingest; a cached search sees both.
        File.Delete(Path.Combine(_dir, "a", "apple0.txt"));
        File.WriteAllText(Path.Combine(_dir, "a", "zebra.txt"), "zebra stripes, a new note.");
        Ingestor.Ingest(index, [Path.Combine(_dir, "a")], new IngestOptions { Tenant = "alice" }, embedder: embedder);
        Assert.Equal(80, index.Vectors.Count().Vectors);
        var hits = retriever.Search("zebra stripes", 80, SearchMode.Dense, tenant: "alice");
        Assert.Equal(40, hits.Count);
        Assert.Contains(hits, h => h.Source.EndsWith("zebra.txt"));
        Assert.DoesNotContain(hits, h => h.Source.EndsWith("apple0.txt"));

        // Another embedder's query vectors are refused; embedding with it replaces every vector.
        var other = RagFixtures.RandomEmbedder(_dir, "other", 8);
        Assert.Contains("not test:other", Assert.Throws<InvalidOperationException>(() => new Retriever(index, other).Search("x", 3, SearchMode.Dense)).Message);
        Assert.Contains("needs the embedder", Assert.Throws<InvalidOperationException>(() => new Retriever(index).Search("x", 3, SearchMode.Hybrid)).Message);
        Assert.Equal((80, 0), index.Vectors.EmbedAll(other));
        Assert.Equal(("test:other", 8), index.Vectors.Embedder);
        Assert.Equal(5, new Retriever(index, other).Search("apple", 5, SearchMode.Dense, tenant: "alice").Count);

        // An IVF index over it: all lists probed gives the exact ranking.
        Assert.Equal((0, 9), index.Vectors.EmbedAll(other, ivfLists: 9));
        var exactIds = new Retriever(index, other).Search("apple note", 10, SearchMode.Dense, tenant: "bob").Select(h => h.ChunkId);
        Assert.Equal(exactIds, new Retriever(index, other) { Probes = 9 }.Search("apple note", 10, SearchMode.Dense, tenant: "bob").Select(h => h.ChunkId));
        Assert.Equal((0, 0), index.Vectors.EmbedAll(other, ivfLists: 0));
        Assert.Equal(0, index.Vectors.Count().Lists);
    }

    [Fact]
    public void AnIndexFromBeforeVectorsIsUpgradedWithItsChunksKept()
    {
        var dir = Path.Combine(_dir, "old");
        using (var index = RagIndex.Open(dir)) Ingestor.Ingest(index, [RagFixtures.Docs(_dir, "d", 3, "kiwi")], new IngestOptions());
        using (var db = new SqliteConnection($"Data Source={Path.Combine(dir, RagIndex.FileName)};Pooling=False"))   // back to version 1
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DROP TABLE vectors; DROP TABLE settings; DROP TABLE centroids; PRAGMA user_version = 1;";
            cmd.ExecuteNonQuery();
        }
        using (var index = RagIndex.Open(dir))
        {
            Assert.Equal((3, 3), index.Count());
            Assert.Null(index.Vectors.Embedder);
            Assert.Equal((3, 0), index.Vectors.EmbedAll(RagFixtures.RandomEmbedder(_dir, "up")));
        }
    }

    [Fact]
    public void TheCommandLineTrainsAnEmbedderOnAnIndexEmbedsItAndSearchesByMeaning()
    {
        var pages = Path.Combine(_dir, "pages");
        Directory.CreateDirectory(pages);
        foreach (var f in Directory.EnumerateFiles("/usr/share/man/man1", "*.1.gz").Order(StringComparer.Ordinal).Take(250))
            File.Copy(f, Path.Combine(pages, Path.GetFileName(f)));
        var index = Path.Combine(_dir, "index");
        var (code, _, err) = CliRunner.Run(null, "rag", "ingest", pages, "--index", index);
        Assert.True(code == 0, err);

        var run = Path.Combine(_dir, "embedder");
        (code, var output, err) = CliRunner.Run(null, "train", "embedder", "--index", index, "--out", run, "--steps", "60", "--dims", "32",
            "--buckets", "65536", "--batch-size", "64", "--lr", "0.02", "--eval-interval", "30", "--threads", "2", "--hard-negatives");
        Assert.True(code == 0, err + output);
        Assert.Matches(@"chunks of .* [\d,]+ with a hard negative", output);
        // Each negative is another chunk, from another file (BM25's best hit for the chunk's longest sentence).
        var lines = File.ReadAllLines(Path.Combine(run, "passages.jsonl")).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        var sourceOf = new Dictionary<string, string>();
        using (var idx = RagIndex.Open(index))
            foreach (var p in idx.Passages()) sourceOf[p.RowId.ToString()] = p.Source;
        var pairs = lines.SelectMany(l => l.GetProperty("negatives").EnumerateArray().Select(n => (Own: l.GetProperty("id").GetString()!, Negative: n.GetString()!))).ToList();
        Assert.True(pairs.Count > lines.Count / 2, $"{pairs.Count} negatives for {lines.Count} chunks");
        Assert.All(pairs, p => Assert.NotEqual(sourceOf[p.Own], sourceOf[p.Negative]));
        (code, _, err) = CliRunner.Run(null, "train", "embedder", "--data", Path.Combine(run, "passages.jsonl"), "--out", Path.Combine(_dir, "e2"), "--hard-negatives");
        Assert.Equal(1, code);
        Assert.Contains("--hard-negatives mines an index", err);

        (code, output, err) = CliRunner.Run(null, "rag", "search", "copy files", "--index", index, "--mode", "dense");
        Assert.Equal(1, code);
        Assert.Contains("rag embed", err);                                               // no vectors yet: says what to do
        (code, output, err) = CliRunner.Run(null, "rag", "embed", "--index", index, "--embedder", run);
        Assert.True(code == 0, err);
        Assert.Matches(@"[\d,]+ chunks embedded by gensharp:", output);

        // No --embedder: the index's own is opened again; dense and hybrid search and evaluation run.
        (code, output, err) = CliRunner.Run(null, "rag", "search", "compare two files line by line", "--index", index, "--mode", "dense", "--json", "--k", "3");
        Assert.True(code == 0, err);
        Assert.Equal(3, output.Trim().Split('\n').Length);
        var queries = Path.Combine(_dir, "q.jsonl");
        File.WriteAllLines(queries, Directory.EnumerateFiles(pages).Take(30).Select(p =>
            System.Text.Json.JsonSerializer.Serialize(new { query = Path.GetFileName(p).Split('.')[0] + " command", relevant = new[] { p } })));
        (code, output, err) = CliRunner.Run(null, "rag", "eval", "--index", index, "--queries", queries);
        Assert.True(code == 0, err);
        Assert.Matches(@"\| bm25 \| 30 \|", output);
        Assert.Matches(@"\| dense \| 30 \|", output);
        Assert.Matches(@"\| hybrid \| 30 \|", output);

        (code, _, err) = CliRunner.Run(null, "rag", "search", "x", "--index", index, "--mode", "fuzzy");
        Assert.Equal(1, code);
        Assert.Contains("--mode must be bm25, dense or hybrid", err);
        // The embedder retrained in place is another embedder: the index says so instead of mixing vectors.
        File.AppendAllText(Path.Combine(run, "model.safetensors"), "");
        var weights = File.ReadAllBytes(Path.Combine(run, "model.safetensors"));
        weights[^1] ^= 1;
        File.WriteAllBytes(Path.Combine(run, "model.safetensors"), weights);
        (code, _, err) = CliRunner.Run(null, "rag", "search", "copy", "--index", index);
        Assert.Equal(1, code);
        Assert.Contains("changed since the index was embedded", err);
    }
}
