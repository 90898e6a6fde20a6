using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Tokenizers;
using Microsoft.Data.Sqlite;

namespace GenSharp.Feedback;

/// <summary>
/// Human feedback in an embedded SQLite database (WAL journal; each write is one transaction): ratings and
/// comparisons with the conversation, the answers, the model, its sampling settings and the time. Exports
/// preference data in the JSONL formats TRL's DPO and KTO trainers read.
/// </summary>
public sealed class FeedbackStore : IDisposable
{
    readonly SqliteConnection _db;
    readonly Lock _lock = new();

    public FeedbackStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            _db.Open();
            Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
            Execute("""
                CREATE TABLE IF NOT EXISTS feedback (
                    id         INTEGER PRIMARY KEY AUTOINCREMENT,
                    created_at TEXT    NOT NULL,                                  -- ISO 8601, UTC
                    kind       TEXT    NOT NULL CHECK (kind IN ('rating', 'comparison')),
                    model      TEXT    NOT NULL,
                    prompt     TEXT    NOT NULL,                                  -- JSON array of {role, content}
                    response   TEXT,                                              -- rating: the rated answer
                    rating     INTEGER CHECK (rating IN (-1, 1)),                 -- rating: +1 = 👍, −1 = 👎
                    chosen     TEXT,                                              -- comparison: preferred answer
                    rejected   TEXT,                                              -- comparison: the other one
                    settings   TEXT                                               -- JSON sampling settings
                );
                """);
        }
        catch (SqliteException e)
        {
            _db.Dispose();
            throw new InvalidDataException($"{Path}: cannot open the feedback database ({e.Message})");
        }
    }

    public string Path { get; }

    public long Add(Rating r)
    {
        if (r.Value is not (1 or -1)) throw new ArgumentException($"a rating is +1 or −1 (got {r.Value})");
        Check(r.Model, r.Prompt);
        return Insert("rating", r.Model, r.Prompt, r.Settings, ("$response", r.Response), ("$rating", r.Value));
    }

    public long Add(Comparison c)
    {
        Check(c.Model, c.Prompt);
        if (c.Chosen == c.Rejected) throw new ArgumentException("the chosen and rejected answers are the same text");
        return Insert("comparison", c.Model, c.Prompt, c.Settings, ("$chosen", c.Chosen), ("$rejected", c.Rejected));
    }

    static void Check(string model, IReadOnlyList<ChatMessage> prompt)
    {
        if (string.IsNullOrWhiteSpace(model)) throw new ArgumentException("the model name is empty");
        if (prompt.Count == 0) throw new ArgumentException("the conversation is empty");
    }

    long Insert(string kind, string model, IReadOnlyList<ChatMessage> prompt, JsonObject? settings, params (string Name, object Value)[] values)
    {
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            var columns = values.Select(v => v.Name[1..]).ToArray();
            cmd.CommandText = $"INSERT INTO feedback (created_at, kind, model, prompt, settings, {string.Join(", ", columns)}) " +
                              $"VALUES ($created, $kind, $model, $prompt, $settings, {string.Join(", ", values.Select(v => v.Name))}); SELECT last_insert_rowid();";
            cmd.Parameters.AddWithValue("$created", DateTime.UtcNow.ToString("O"));
            cmd.Parameters.AddWithValue("$kind", kind);
            cmd.Parameters.AddWithValue("$model", model);
            cmd.Parameters.AddWithValue("$prompt", JsonSerializer.Serialize(prompt.Select(m => new { role = m.Role, content = m.Content })));
            cmd.Parameters.AddWithValue("$settings", settings is null ? DBNull.Value : settings.ToJsonString());
            foreach (var (name, value) in values) cmd.Parameters.AddWithValue(name, value);
            long id = (long)cmd.ExecuteScalar()!;
            tx.Commit();
            return id;
        }
    }

    /// <summary>Rows as stored, oldest first: (id, time, kind, model, prompt JSON, response, rating, chosen, rejected, settings JSON).</summary>
    public IReadOnlyList<JsonObject> All()
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT id, created_at, kind, model, prompt, response, rating, chosen, rejected, settings FROM feedback ORDER BY id";
            using var r = cmd.ExecuteReader();
            var rows = new List<JsonObject>();
            while (r.Read())
                rows.Add(new JsonObject
                {
                    ["id"] = r.GetInt64(0), ["created_at"] = r.GetString(1), ["kind"] = r.GetString(2), ["model"] = r.GetString(3),
                    ["prompt"] = JsonNode.Parse(r.GetString(4)),
                    ["response"] = r.IsDBNull(5) ? null : r.GetString(5), ["rating"] = r.IsDBNull(6) ? null : r.GetInt32(6),
                    ["chosen"] = r.IsDBNull(7) ? null : r.GetString(7), ["rejected"] = r.IsDBNull(8) ? null : r.GetString(8),
                    ["settings"] = r.IsDBNull(9) ? null : JsonNode.Parse(r.GetString(9)),
                });
            return rows;
        }
    }

    /// <summary>
    /// Preference pairs for TRL's DPOTrainer (conversational format): one line per A/B pick, plus one per
    /// (👍, 👎) pair of answers to the same conversation by the same model.
    /// </summary>
    public IEnumerable<string> ExportDpo()
    {
        var rows = All();
        foreach (var c in rows.Where(r => (string)r["kind"]! == "comparison"))
            yield return Pair(c["prompt"]!, (string)c["chosen"]!, (string)c["rejected"]!);
        foreach (var g in rows.Where(r => (string)r["kind"]! == "rating").GroupBy(r => (string)r["model"]! + "\n" + r["prompt"]!.ToJsonString()))
        {
            var liked = g.Where(r => (int)r["rating"]! > 0).Select(r => (string)r["response"]!).Distinct().ToArray();
            var disliked = g.Where(r => (int)r["rating"]! < 0).Select(r => (string)r["response"]!).Distinct().ToArray();
            foreach (var good in liked)
                foreach (var bad in disliked.Where(b => b != good))
                    yield return Pair(g.First()["prompt"]!, good, bad);
        }
    }

    /// <summary>Unpaired examples for TRL's KTOTrainer: every rating as (prompt, completion, label), conversational format.</summary>
    public IEnumerable<string> ExportKto() =>
        All().Where(r => (string)r["kind"]! == "rating").Select(r => new JsonObject
        {
            ["prompt"] = r["prompt"]!.DeepClone(),
            ["completion"] = Assistant((string)r["response"]!),
            ["label"] = (int)r["rating"]! > 0,
        }.ToJsonString());

    static string Pair(JsonNode prompt, string chosen, string rejected) =>
        new JsonObject { ["prompt"] = prompt.DeepClone(), ["chosen"] = Assistant(chosen), ["rejected"] = Assistant(rejected) }.ToJsonString();

    static JsonArray Assistant(string text) => [new JsonObject { ["role"] = "assistant", ["content"] = text }];

    void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose() => _db.Dispose();
}
