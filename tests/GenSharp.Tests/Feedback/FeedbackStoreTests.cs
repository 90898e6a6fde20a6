using System.Text.Json.Nodes;
using GenSharp.Feedback;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;
using Microsoft.Data.Sqlite;

namespace GenSharp.Tests.Feedback;

public sealed class FeedbackStoreTests : TempDirectoryTest
{
    static readonly ChatMessage[] Q = [new("user", "Who goes there?")];

    [Fact]
    public void StoresRowsInWalModeAndExportsTrlPreferencePairs()
    {
        var path = Path.Combine(_dir, "f.db");
        using (var store = new FeedbackStore(path))
        {
            store.Add(new Comparison("m", Q, "A friend.", "Nay.", new JsonObject { ["temperature"] = 0.8 }));
            store.Add(new Rating("m", Q, "Good.", 1, null));
            store.Add(new Rating("m", Q, "Bad.", -1, null));
            store.Add(new Rating("other", Q, "Worse.", -1, null));   // another model: never paired with m's answers
            Assert.Throws<ArgumentException>(() => store.Add(new Rating("m", Q, "x", 0, null)));
            Assert.Throws<ArgumentException>(() => store.Add(new Comparison("m", Q, "same", "same", null)));
        }
        using (var store = new FeedbackStore(path))   // reopened: rows persisted
        {
            var rows = store.All();
            Assert.Equal(4, rows.Count);
            Assert.Equal(0.8, (double)rows[0]["settings"]!["temperature"]!);
            Assert.Equal(
                [
                    """{"prompt":[{"role":"user","content":"Who goes there?"}],"chosen":[{"role":"assistant","content":"A friend."}],"rejected":[{"role":"assistant","content":"Nay."}]}""",
                    """{"prompt":[{"role":"user","content":"Who goes there?"}],"chosen":[{"role":"assistant","content":"Good."}],"rejected":[{"role":"assistant","content":"Bad."}]}""",
                ], store.ExportDpo().ToArray());
            var kto = store.ExportKto().Select(l => JsonNode.Parse(l)!).ToArray();
            Assert.Equal([true, false, false], kto.Select(k => (bool)k["label"]!));
        }
        using var db = new SqliteConnection($"Data Source={path}");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string)cmd.ExecuteScalar()!);
    }

    [Fact]
    public void TheCliExportsToAFile()
    {
        var path = Path.Combine(_dir, "f.db");
        using (var store = new FeedbackStore(path)) store.Add(new Comparison("m", Q, "Yes.", "No.", null));
        var output = Path.Combine(_dir, "pairs.jsonl");
        var r = CliRunner.Run(null, "feedback", "export", "--db", path, "--out", output);
        Assert.True(r.Code == 0, r.Err);
        Assert.Single(File.ReadAllLines(output));
        r = CliRunner.Run(null, "feedback", "export", "--db", Path.Combine(_dir, "missing.db"));
        Assert.Equal(1, r.Code);
        Assert.Contains("no feedback database", r.Err);
    }
}

/// <summary>The feedback store on the real PostgreSQL that scripts/test.sh starts: replicas of a server share it.</summary>
public sealed class PostgresFeedbackStoreTests
{
    static readonly ChatMessage[] Q = [new("user", "Who goes there?")];

    [Fact]
    public async Task TwoServerReplicasWriteToOneStoreAndItExportsLikeTheFile()
    {
        var server = Environment.GetEnvironmentVariable("GENSHARP_TEST_POSTGRES")
            ?? throw new InvalidOperationException("GENSHARP_TEST_POSTGRES is not set: run the tests with scripts/test.sh");
        var url = $"{server}?schema=f_{Guid.NewGuid():N}";
        using var a = new FeedbackStore(url);
        using var b = new FeedbackStore(url);
        Assert.DoesNotContain("password", a.Path);
        // Two replicas write at once: every row lands once, ids stay unique.
        var writes = Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            (i % 2 == 0 ? a : b).Add(new Comparison("m", [new("user", $"q{i}")], $"good {i}", $"bad {i}", new JsonObject { ["seed"] = i }))));
        var ids = await Task.WhenAll(writes);
        Assert.Equal(40, ids.Distinct().Count());
        a.Add(new Rating("m", Q, "Good.", 1, null));
        b.Add(new Rating("m", Q, "Bad.", -1, null));
        var rows = b.All();
        Assert.Equal(42, rows.Count);
        var dpo = a.ExportDpo().ToList();
        Assert.Equal(41, dpo.Count);
        Assert.Contains("""{"prompt":[{"role":"user","content":"Who goes there?"}],"chosen":[{"role":"assistant","content":"Good."}],"rejected":[{"role":"assistant","content":"Bad."}]}""", dpo);
        var export = CliRunner.Run(null, "feedback", "export", "--db", url, "--format", "dpo");
        Assert.True(export.Code == 0, export.Err);
        Assert.Equal(41, export.Out.Trim().Split('\n').Length);

        var down = Assert.Throws<InvalidDataException>(() => new FeedbackStore("postgres://postgres@127.0.0.1:1/gensharp"));
        Assert.Contains("postgres://postgres@127.0.0.1:1/gensharp: cannot open the feedback store (is PostgreSQL up?)", down.Message);
        using var admin = new Npgsql.NpgsqlConnection($"Host=127.0.0.1;Port={new Uri(server).Port};Username=postgres;Database={new Uri(server).AbsolutePath.Trim('/')}");
        admin.Open();
        using var drop = new Npgsql.NpgsqlCommand($"DROP SCHEMA {url.Split("schema=")[1]} CASCADE", admin);
        drop.ExecuteNonQuery();
    }
}
