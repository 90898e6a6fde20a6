using System.Diagnostics;
using GenSharp.Rag.Index;
using GenSharp.Rag.Ingest;
using GenSharp.Rag.Retrieval;
using GenSharp.Tests.Cli;

namespace GenSharp.Tests.Rag;

/// <summary>
/// The PostgreSQL + pgvector store against a real server: scripts/test.sh starts a private PostgreSQL 17 and passes its URL in
/// GENSHARP_TEST_POSTGRES. Each test works in a schema of its own and drops it.
/// </summary>
public sealed class PostgresStoreTests : TempDirectoryTest
{
    readonly string _url;

    public PostgresStoreTests()
    {
        var server = Environment.GetEnvironmentVariable("GENSHARP_TEST_POSTGRES")
            ?? throw new InvalidOperationException("GENSHARP_TEST_POSTGRES is not set: run the tests with scripts/test.sh, or start one with scripts/postgres.sh start and export its URL");
        _url = $"{server}?schema=t_{Guid.NewGuid():N}";
    }

    PostgresStore Open() => PostgresStore.Open(_url);



    [Fact]
    public async Task IngestSearchAndTenantsOnPostgresMatchTheEmbeddedIndex()
    {
        using var pg = Open();
        using var sqlite = RagIndex.Open(Path.Combine(_dir, "index"));
        try
        {
            var embedder = RagFixtures.RandomEmbedder(_dir, "enc");
            var a = RagFixtures.Docs(_dir, "a", 60, "apple");
            var b = RagFixtures.Docs(_dir, "b", 60, "berry");
            foreach (IRagStore store in new IRagStore[] { pg, sqlite })
            {
                var first = Ingestor.Ingest(store, [a], new IngestOptions { Tenant = "alice" }, embedder: embedder);
                Assert.Equal((60, 60), (first.Added, first.Embedded));
                Ingestor.Ingest(store, [b], new IngestOptions { Tenant = "bob" }, embedder: embedder);
                Assert.Equal((60L, 60L), store.Count(tenant: "alice"));
                Assert.Equal((120L, 0), store.VectorCount());
                Assert.Equal(("test:enc", 16), store.Embedder);
            }
            Assert.Equal(sqlite.Sources(tenant: "bob"), pg.Sources(tenant: "bob"));

            // Full text finds the same chunk; exact vector search gives SQLite's ranking (same vectors, same cosine).
            Assert.Equal(Path.Combine(a, "apple17.txt"), pg.Search("apple17", 3, tenant: "alice").First().Source);
            var q = (await embedder.Generator.GenerateAsync(["apple kept item 5"]))[0].Vector.ToArray();
            var exact = pg.SearchVectors(q, 10, tenant: "alice");
            Assert.Equal(sqlite.SearchVectors(q, 10, tenant: "alice").Select(h => h.ChunkId), exact.Select(h => h.ChunkId));
            Assert.Equal(sqlite.SearchVectors(q, 10, tenant: "alice")[0].Score, exact[0].Score, 4);
            // HNSW with an iterative scan: bob's 10 nearest though half the graph is alice's.
            var approx = pg.SearchVectors(q, 10, tenant: "bob", probes: 40);
            Assert.Equal(10, approx.Count);
            Assert.True(approx.Select(h => h.ChunkId).Intersect(pg.SearchVectors(q, 10, tenant: "bob").Select(h => h.ChunkId)).Count() >= 9);

            // No cross-tenant chunk in any mode over many random queries.
            var retriever = new Retriever(pg, embedder) { Probes = 20 };
            var rng = new Random(11);
            string[] words = ["apple", "berry", "note", "item", "kept", "word3", "apple7", "berry9", "here"];
            for (int i = 0; i < 60; i++)
            {
                var query = string.Join(' ', Enumerable.Range(0, 1 + rng.Next(3)).Select(_ => words[rng.Next(words.Length)]));
                foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
                {
                    Assert.All(retriever.Search(query, 20, mode, tenant: "alice"), h => Assert.StartsWith(a, h.Source));
                    Assert.All(retriever.Search(query, 20, mode, tenant: "bob"), h => Assert.StartsWith(b, h.Source));
                    Assert.Empty(retriever.Search(query, 20, mode, tenant: "eve"));
                }
            }

            // Incremental: unchanged skipped, changed replaced (and re-embedded), deleted removed with its vectors.
            File.WriteAllText(Path.Combine(a, "apple3.txt"), "apple three, rewritten entirely.");
            File.Delete(Path.Combine(a, "apple4.txt"));
            var again = Ingestor.Ingest(pg, [a], new IngestOptions { Tenant = "alice" }, embedder: embedder);
            Assert.Equal((0, 1, 58, 1, 1), (again.Added, again.Updated, again.Unchanged, again.Removed, again.Embedded));
            Assert.Equal((119L, 0), pg.VectorCount());
            Assert.Contains("rewritten", pg.Search("rewritten", 1, tenant: "alice").Single().Text);

            // Another embedder replaces every vector (new dimensions too).
            Assert.Equal((119, 0), pg.EmbedAll(RagFixtures.RandomEmbedder(_dir, "other", 8)));
            Assert.Equal(("test:other", 8), pg.Embedder);
            Assert.Equal(5, pg.SearchVectors(new float[8] { 1, 0, 0, 0, 0, 0, 0, 1 }, 5, tenant: "bob", probes: 10).Count);
        }
        finally { pg.Drop(); }
    }

    [Fact]
    public void AKilledIngestLeavesPostgresAsItWasAndADownServerIsAClearError()
    {
        var docs = RagFixtures.Docs(_dir, "docs", 6, "fig");
        var first = CliRunner.Run(null, "rag", "ingest", Path.Combine(docs, "fig0.txt"), Path.Combine(docs, "fig1.txt"), "--store", _url);
        Assert.True(first.Code == 0, first.Err);
        try
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "GenSharp.Cli.dll"), "rag", "ingest", docs, "--store", _url }) psi.ArgumentList.Add(arg);
            psi.Environment["GENSHARP_KILL_AT_INGEST"] = "3";
            using (var p = Process.Start(psi)!)
            {
                Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)));
                Assert.Equal(137, p.ExitCode);
            }
            using (var pg = Open()) Assert.Equal((2L, 2L), pg.Count());   // the server rolled the dead connection's transaction back
            var again = CliRunner.Run(null, "rag", "ingest", docs, "--store", _url);
            Assert.True(again.Code == 0, again.Err);
            Assert.Contains("4 added, 0 updated, 2 unchanged", again.Out);
            var search = CliRunner.Run(null, "rag", "search", "fig5", "--store", _url, "--json");
            Assert.Contains("fig5.txt", search.Out);

            var down = CliRunner.Run(null, "rag", "search", "fig", "--store", "postgres://postgres@127.0.0.1:1/gensharp");
            Assert.Equal(1, down.Code);
            Assert.Contains("postgres://postgres@127.0.0.1:1/gensharp: PostgreSQL is not reachable", down.Err);
            Assert.DoesNotContain("   at ", down.Err);
            Assert.Contains("not a PostgreSQL URL", CliRunner.Run(null, "rag", "search", "fig", "--store", "postgres://").Err);
        }
        finally
        {
            using var pg = Open();
            pg.Drop();
        }
    }
}
