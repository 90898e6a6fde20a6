using GenSharp.Rag.Evaluation;
using GenSharp.Rag.Index;
using GenSharp.Tests.Cli;

namespace GenSharp.Tests.Rag;

/// <summary>Retrieval metrics against hand computation, and <c>gensharp rag eval</c> on a real index with a bad queries file.</summary>
public sealed class RetrievalEvalTests : TempDirectoryTest
{
    [Fact]
    public void MetricsFoldChunksIntoSourcesAndMatchHandComputedValues()
    {
        static SearchHit Hit(string source) => new("id", source, "", "text", null, 0, 1);
        var ranked = new Dictionary<string, SearchHit[]>
        {
            ["q1"] = [Hit("a"), Hit("a"), Hit("b")],          // relevant a at rank 1
            ["q2"] = [Hit("b"), Hit("b"), Hit("c")],          // relevant c at rank 2 (two chunks of b count once)
            ["q3"] = [Hit("b")],                              // relevant d never found
        };
        RetrievalQuery Q(string q, params string[] rel) => new(q, rel.ToHashSet());
        var report = RetrievalEvaluator.Evaluate("hand", [Q("q1", "a"), Q("q2", "c"), Q("q3", "d")], (q, _) => ranked[q], k: 10);
        Assert.Equal(1.0 / 3, report.RecallAt1, 9);
        Assert.Equal(2.0 / 3, report.RecallAtK, 9);
        Assert.Equal((1 + 0.5 + 0) / 3, report.Mrr, 9);
        Assert.Equal((1 + 1 / Math.Log2(3) + 0) / 3, report.NdcgAt10, 9);
        var atOne = RetrievalEvaluator.Evaluate("hand", [Q("q2", "c")], (q, _) => ranked[q], k: 1);
        Assert.Equal((0, 0, 0), (atOne.RecallAtK, atOne.Mrr, atOne.RecallAt1));
    }

    [Fact]
    public void TheCliEvaluatesAnIndexAndNamesTheBadLineOfAQueriesFile()
    {
        var docs = Path.Combine(_dir, "docs");
        Directory.CreateDirectory(docs);
        File.WriteAllText(Path.Combine(docs, "ls.txt"), "list directory contents");
        File.WriteAllText(Path.Combine(docs, "cp.txt"), "copy files and directories");
        var index = Path.Combine(_dir, "index");
        Assert.Equal(0, CliRunner.Run(null, "rag", "ingest", docs, "--index", index).Code);
        var queries = Path.Combine(_dir, "q.jsonl");
        File.WriteAllLines(queries, [
            $$"""{"query": "copy files", "relevant": ["{{Path.Combine(docs, "cp.txt")}}"]}""",
            $$"""{"query": "directory listing", "relevant": ["{{Path.Combine(docs, "ls.txt")}}"]}""",
        ]);
        var ok = CliRunner.Run(null, "rag", "eval", "--index", index, "--queries", queries);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("| bm25 | 2 | 100.0 % | 100.0 % | 1.000 | 1.000 |", ok.Out);

        File.AppendAllLines(queries, ["", """{"query": "x", "relevant": []}"""]);
        var bad = CliRunner.Run(null, "rag", "eval", "--index", index, "--queries", queries);
        Assert.Equal(1, bad.Code);
        Assert.Contains($"{queries}:4: 'relevant' must be a non-empty array of source paths", bad.Err);
        File.WriteAllLines(queries, ["{not json"]);
        Assert.Contains($"{queries}:1: not JSON", CliRunner.Run(null, "rag", "eval", "--index", index, "--queries", queries).Err);
    }
}
