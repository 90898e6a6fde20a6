using System.Diagnostics;
using GenSharp.Rag.Index;
using GenSharp.Rag.Ingest;
using GenSharp.Tests.Cli;

namespace GenSharp.Tests.Rag;

/// <summary>The embedded index on real SQLite files: BM25 against the formula, incremental and all-or-nothing ingest, tenants, bad files.</summary>
public sealed class RagIndexTests : TempDirectoryTest
{
    string Docs(string name, params (string File, string Text)[] files)
    {
        var dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        foreach (var (file, text) in files) File.WriteAllText(Path.Combine(dir, file), text);
        return dir;
    }

    [Fact]
    public void Bm25ScoresAreTheFormulasWithFts5sConstants()
    {
        string[] texts = ["apple banana apple", "banana cherry", "cherry date elder fig", "grape", "honeydew melon"];
        var docs = Docs("fruit", [.. texts.Select((t, i) => ($"d{i + 1}.txt", t))]);
        using var index = RagIndex.Open(Path.Combine(_dir, "index"));
        Ingestor.Ingest(index, [docs], new IngestOptions());
        var hits = index.Search("Apple, cherry?", k: 10);

        // Okapi BM25 as FTS5 computes it: k1 1.2, b 0.75, idf = ln((N − n + 0.5) / (n + 0.5)), lengths in tokens.
        const double k1 = 1.2, b = 0.75;
        int n = texts.Length;
        double avgdl = texts.Average(t => t.Split(' ').Length);
        double Idf(string term) => Math.Log((n - texts.Count(t => t.Split(' ').Contains(term)) + 0.5) / (texts.Count(t => t.Split(' ').Contains(term)) + 0.5));
        double Bm25(string text) => new[] { "apple", "cherry" }.Sum(term =>
        {
            var words = text.Split(' ');
            double f = words.Count(w => w == term);
            return Idf(term) * f * (k1 + 1) / (f + k1 * (1 - b + b * words.Length / avgdl));
        });
        var expected = texts.Where(t => Bm25(t) > 0).OrderByDescending(Bm25).ToList();
        Assert.Equal(expected, hits.Select(h => h.Text));
        Assert.Equal(expected.Select(Bm25), hits.Select(h => h.Score), new ToleranceComparer(1e-6));
        Assert.Empty(index.Search("\"\" OR NEAR(*)"));   // FTS5 syntax is not interpreted: no words, no hits
    }

    sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double x) => 0;
    }

    [Fact]
    public void ReingestSkipsUnchangedReplacesChangedRemovesDeletedAndKeepsWhatBecameUnreadable()
    {
        var docs = Docs("docs", ("a.txt", "alpha text one"), ("b.md", "# Bee\nbravo text two"), ("c.txt", "charlie text three"), ("d.txt", "delta text four"));
        using var index = RagIndex.Open(Path.Combine(_dir, "index"));
        var first = Ingestor.Ingest(index, [docs], new IngestOptions());
        Assert.Equal((4, 0, 0, 0), (first.Added, first.Updated, first.Unchanged, first.Removed));
        var charlieId = index.Search("charlie").Single().ChunkId;

        File.WriteAllText(Path.Combine(docs, "a.txt"), "alpha text revised");
        File.Delete(Path.Combine(docs, "b.md"));
        File.WriteAllText(Path.Combine(docs, "e.txt"), "echo text five");
        File.WriteAllBytes(Path.Combine(docs, "d.txt"), [1, 2, 0, 3]);   // now binary: its old chunks stay
        var second = Ingestor.Ingest(index, [docs], new IngestOptions());
        Assert.Equal((1, 1, 1, 1), (second.Added, second.Updated, second.Unchanged, second.Removed));
        Assert.Equal((Path.Combine(docs, "d.txt"), "text: binary data (a NUL byte at offset 2)"), second.Skipped.Single());
        Assert.Empty(index.Search("bravo"));
        Assert.Empty(index.Search("one"));
        Assert.Single(index.Search("revised"));
        Assert.Single(index.Search("delta"));
        Assert.Equal(charlieId, index.Search("charlie").Single().ChunkId);
        Assert.Equal((4L, 4L), index.Count());
    }

    [Fact]
    public void TenantsAndCollectionsNeverSeeEachOthersChunks()
    {
        var words = Enumerable.Range(0, 60).Select(i => $"word{i}").ToArray();
        var rng = new Random(3);
        string Text() => string.Join(' ', Enumerable.Range(0, 12).Select(_ => words[rng.Next(words.Length)]));
        var a = Docs("tenant-a", [.. Enumerable.Range(0, 20).Select(i => ($"a{i}.txt", Text()))]);
        var b = Docs("tenant-b", [.. Enumerable.Range(0, 20).Select(i => ($"b{i}.txt", Text()))]);
        using var index = RagIndex.Open(Path.Combine(_dir, "index"));
        Ingestor.Ingest(index, [a], new IngestOptions { Tenant = "a" });
        Ingestor.Ingest(index, [b], new IngestOptions { Tenant = "b" });
        Ingestor.Ingest(index, [b], new IngestOptions { Tenant = "a", Collection = "other" });
        int hits = 0;
        for (int q = 0; q < 200; q++)
        {
            var query = $"{words[rng.Next(words.Length)]} {words[rng.Next(words.Length)]}";
            var found = index.Search(query, 20, tenant: "a");
            Assert.All(found, h => Assert.StartsWith(a + "/", h.Source));
            Assert.All(index.Search(query, 20, tenant: "b"), h => Assert.StartsWith(b + "/", h.Source));
            hits += found.Count;
        }
        Assert.True(hits > 200, $"the queries should find something ({hits} hits)");
        Assert.Empty(index.Search("word1", tenant: "c"));
    }

    [Fact]
    public void LinksOutOfTheRootLoopsAndOversizedFilesAreSkippedWithTheReason()
    {
        var docs = Docs("docs", ("ok.txt", "fine text"), ("big.txt", new string('x', 5000)));
        File.CreateSymbolicLink(Path.Combine(docs, "passwd.txt"), "/etc/passwd");
        Directory.CreateDirectory(Path.Combine(docs, "sub"));
        File.CreateSymbolicLink(Path.Combine(docs, "sub", "loop"), docs);
        File.WriteAllBytes(Path.Combine(docs, "photo.png"), [137, 80, 78, 71]);
        using var index = RagIndex.Open(Path.Combine(_dir, "index"));
        var summary = Ingestor.Ingest(index, [docs], new IngestOptions { MaxFileBytes = 1000 });
        Assert.Equal(1, summary.Added);
        var reasons = summary.Skipped.ToDictionary(s => Path.GetRelativePath(docs, s.Path), s => s.Reason);
        Assert.Equal("5,000 bytes, over the 1,000-byte cap", reasons["big.txt"]);
        Assert.Equal($"a symbolic link out of {docs}", reasons["passwd.txt"]);
        Assert.StartsWith("a directory loop", reasons["sub/loop"]);
        Assert.Equal(1, summary.Unsupported[".png"]);
    }

    [Fact]
    public void AnIngestKilledMidwayLeavesTheIndexAsItWasAndTheCliReportsEverySkip()
    {
        var docs = Docs("docs", [.. Enumerable.Range(0, 6).Select(i => ($"f{i}.txt", $"file number{i} text"))]);
        var index = Path.Combine(_dir, "index");
        var first = CliRunner.Run(null, "rag", "ingest", Path.Combine(docs, "f0.txt"), Path.Combine(docs, "f1.txt"), "--index", index);
        Assert.True(first.Code == 0, first.Err);
        Assert.Contains("2 added, 0 updated, 0 unchanged, 0 removed, 0 skipped", first.Out);

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "GenSharp.Cli.dll"), "rag", "ingest", docs, "--index", index }) psi.ArgumentList.Add(a);
        psi.Environment["GENSHARP_KILL_AT_INGEST"] = "3";
        using (var p = Process.Start(psi)!)
        {
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)));
            Assert.Equal(137, p.ExitCode);   // SIGKILL, with three new files written into the open transaction
        }
        using (var idx = RagIndex.Open(index)) Assert.Equal((2L, 2L), idx.Count());

        File.WriteAllBytes(Path.Combine(docs, "f5.txt"), [0, 0]);
        var again = CliRunner.Run(null, "rag", "ingest", docs, "--index", index);
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("3 added, 0 updated, 2 unchanged, 0 removed, 1 skipped", again.Out);
        Assert.Contains($"skipped {Path.Combine(docs, "f5.txt")}: text: binary data (a NUL byte at offset 0)", again.Out);
        var search = CliRunner.Run(null, "rag", "search", "number3", "--index", index, "--json");
        Assert.Contains("\"text\":\"file number3 text\"", search.Out);
        Assert.Contains("no index", CliRunner.Run(null, "rag", "search", "x", "--index", Path.Combine(_dir, "none")).Err);
    }
}
