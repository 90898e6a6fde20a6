using GenSharp.Rag.Index;
using GenSharp.Rag.Ingest;
using GenSharp.Tests.Cli;

namespace GenSharp.Tests.Rag;

/// <summary>BM25 from postings in memory against FTS5's own bm25() on real man pages: same chunks, same order, same scores.</summary>
public sealed class Bm25PostingsTests : TempDirectoryTest
{
    [Fact]
    public void PostingsInMemoryRankLikeFts5OnManPagesPerTenantAndFollowChanges()
    {
        var pages = Directory.EnumerateFiles("/usr/share/man/man1", "*.1.gz").Order(StringComparer.Ordinal).Take(240).ToList();
        foreach (var (tenant, part) in new[] { ("alice", pages[..120]), ("bob", pages[120..]) })
        {
            var dir = Directory.CreateDirectory(Path.Combine(_dir, tenant)).FullName;
            foreach (var page in part) File.Copy(page, Path.Combine(dir, Path.GetFileName(page)));
        }
        using var index = RagIndex.Open(Path.Combine(_dir, "index"));
        Ingestor.Ingest(index, [Path.Combine(_dir, "alice")], new IngestOptions { Tenant = "alice" });
        Ingestor.Ingest(index, [Path.Combine(_dir, "bob")], new IngestOptions { Tenant = "bob" });
        var postings = index.Postings(build: true)!;
        Assert.Equal(index.Count(tenant: "alice").Chunks + index.Count(tenant: "bob").Chunks, postings.Documents);

        // Queries of 1–6 words drawn from the chunks themselves: rare and common words, digits, repeats, stems ("files", "file").
        var words = index.Passages(tenant: "alice").Concat(index.Passages(tenant: "bob"))
            .SelectMany(p => System.Text.RegularExpressions.Regex.Matches(p.Text, @"[\p{L}\p{N}]+").Select(m => m.Value)).ToList();
        var random = new Random(7);
        int compared = 0;
        for (int q = 0; q < 150; q++)
        {
            var query = string.Join(' ', Enumerable.Range(0, 1 + random.Next(6)).Select(_ => words[random.Next(words.Count)]));
            var terms = RagIndex.Terms(query);
            foreach (var tenant in new[] { "alice", "bob" })
            {
                var fts = index.FullTextSearch(terms, 20, "default", tenant);
                var memory = postings.Search(postings.Terms(terms)!, 20, "default", tenant);
                Assert.Equal(fts.Select(h => h.Score), memory.Select(m => m.Score));   // bit for bit: the same sums in the same order
                Assert.Equal(fts.Select(h => h.ChunkId), index.Hits(memory).Select(h => h.ChunkId));
                Assert.All(index.Hits(memory), h => Assert.Contains($"/{tenant}/", h.Source));
                compared += fts.Count;
            }
        }
        Assert.True(compared > 2000, $"only {compared} hits compared");
        Assert.Equal(["run", "file", "file", "connect"], postings.Terms(["Running", "files", "FILE", "connected"]));   // Porter, folded

        // Search itself: FTS5 first, the postings from the second search at the same data version; a change is seen at once.
        Assert.Empty(index.Search("zyxwvutsrq", tenant: "alice"));
        Assert.Empty(index.Search("zyxwvutsrq", tenant: "alice"));
        File.WriteAllText(Path.Combine(_dir, "alice", "new.txt"), "zyxwvutsrq appears here once.");
        Ingestor.Ingest(index, [Path.Combine(_dir, "alice")], new IngestOptions { Tenant = "alice" });
        Assert.EndsWith("new.txt", index.Search("zyxwvutsrq", tenant: "alice").Single().Source);
        Assert.EndsWith("new.txt", index.Search("zyxwvutsrq", tenant: "alice").Single().Source);
        Assert.Empty(index.Search("zyxwvutsrq", tenant: "bob"));
        Assert.Equal(postings.Documents + 1, index.Postings()!.Documents);
    }
}
