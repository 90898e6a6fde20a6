using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Tokenizers;
using System.Data.Common;
using GenSharp.IO;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace GenSharp.Feedback;

/// <summary>
/// Human feedback: ratings and comparisons with the conversation, the answers, the model, its sampling settings and the
/// time; each write is one transaction. Kept in an embedded SQLite file (WAL journal) by default, or in PostgreSQL when
/// opened with a <c>postgres://</c> URL, so several server replicas share one store. Exports preference data in the JSONL
/// formats TRL's DPO and KTO trainers read.
/// </summary>
public sealed class FeedbackStore : IDisposable
{
    readonly DbConnection? _sqlite;             // one connection for the file, behind the lock
    readonly NpgsqlDataSource? _postgres;       // pooled connections, one per write: a server restart costs one failed request
    readonly Lock _lock = new();

    /// <summary>Opens (creating if needed) the store at a file path or a <c>postgres://</c> URL; errors name the location.</summary>
    public FeedbackStore(string location)
    {
        bool postgres = PostgresUrl.Is(location);
        PostgresUrl? url = postgres ? PostgresUrl.Parse(location) : null;
        Path = url?.Display ?? System.IO.Path.GetFullPath(location);
        if (url is null) Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        if (url is null) _sqlite = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        else _postgres = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder
        {
            Host = url.Host, Port = url.Port, Database = url.Database, Username = url.User, Password = url.Password, SearchPath = url.Schema, Timeout = 10,
        }.ToString());
        try
        {
            _sqlite?.Open();
            if (url is null) Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
            else Execute($"CREATE SCHEMA IF NOT EXISTS {url.Schema}");
            Execute($"""
                CREATE TABLE IF NOT EXISTS feedback (
                    id         {(url is null ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "bigserial PRIMARY KEY")},
                    created_at TEXT    NOT NULL,                                  -- ISO 8601, UTC
                    kind       TEXT    NOT NULL CHECK (kind IN ('rating', 'comparison')),
                    model      TEXT    NOT NULL,
                    prompt     TEXT    NOT NULL,                                  -- JSON array of (role, content) objects
                    response   TEXT,                                              -- rating: the rated answer
                    rating     INTEGER CHECK (rating IN (-1, 1)),                 -- rating: +1 = 👍, −1 = 👎
                    chosen     TEXT,                                              -- comparison: preferred answer
                    rejected   TEXT,                                              -- comparison: the other one
                    settings   TEXT                                               -- JSON sampling settings
                );
                """);
        }
        catch (Exception e) when (e is SqliteException or NpgsqlException or TimeoutException)
        {
            Dispose();
            throw new InvalidDataException($"{Path}: cannot open the feedback {(url is null ? "database" : "store (is PostgreSQL up?)")} ({e.Message})");
        }
    }

    /// <summary>The file, or the URL without its password.</summary>
    public string Path { get; }

    public long Add(Rating r)
    {
        if (r.Value is not (1 or -1)) throw new ArgumentException($"a rating is +1 or −1 (got {r.Value})");
        Check(r.Model, r.Prompt);
        return Insert("rating", r.Model, r.Prompt, r.Settings, ("@response", r.Response), ("@rating", r.Value));
    }

    public long Add(Comparison c)
    {
        Check(c.Model, c.Prompt);
        if (c.Chosen == c.Rejected) throw new ArgumentException("the chosen and rejected answers are the same text");
        return Insert("comparison", c.Model, c.Prompt, c.Settings, ("@chosen", c.Chosen), ("@rejected", c.Rejected));
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
            using var conn = Connection();
            using var tx = conn.Value.BeginTransaction();
            using var cmd = conn.Value.CreateCommand();
            cmd.Transaction = tx;
            var columns = values.Select(v => v.Name[1..]).ToArray();
            cmd.CommandText = $"INSERT INTO feedback (created_at, kind, model, prompt, settings, {string.Join(", ", columns)}) " +
                              $"VALUES (@created, @kind, @model, @prompt, @settings, {string.Join(", ", values.Select(v => v.Name))}) RETURNING id";
            Add(cmd, "@created", DateTime.UtcNow.ToString("O"));
            Add(cmd, "@kind", kind);
            Add(cmd, "@model", model);
            Add(cmd, "@prompt", JsonSerializer.Serialize(prompt.Select(m => new { role = m.Role, content = m.Content })));
            Add(cmd, "@settings", settings?.ToJsonString());
            foreach (var (name, value) in values) Add(cmd, name, value);
            long id = Convert.ToInt64(cmd.ExecuteScalar());
            tx.Commit();
            return id;
        }
    }

    /// <summary>Rows as stored, oldest first: (id, time, kind, model, prompt JSON, response, rating, chosen, rejected, settings JSON).</summary>
    public IReadOnlyList<JsonObject> All()
    {
        lock (_lock)
        {
            using var conn = Connection();
            using var cmd = conn.Value.CreateCommand();
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

    static void Add(DbCommand cmd, string name, object? value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(p);
    }

    // The file's one connection (left open), or a pooled PostgreSQL connection (returned to the pool on dispose).
    Lease Connection() => _sqlite is not null ? new Lease(_sqlite, false) : new Lease(_postgres!.OpenConnection(), true);

    readonly struct Lease(DbConnection connection, bool owned) : IDisposable
    {
        public DbConnection Value => connection;
        public void Dispose() { if (owned) connection.Dispose(); }
    }

    void Execute(string sql)
    {
        using var conn = Connection();
        using var cmd = conn.Value.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _sqlite?.Dispose();
        _postgres?.Dispose();
    }
}
