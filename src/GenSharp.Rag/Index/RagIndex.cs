using GenSharp.Rag.Chunking;
using Microsoft.Data.Sqlite;

namespace GenSharp.Rag.Index;

/// <summary>
/// The embedded index: one SQLite file (DIR/index.db, WAL journal) holding the ingested files (path, SHA-256, collection,
/// tenant), their chunks, and an FTS5 table over the chunks' text and headings (Porter stemming) for BM25. Collection and
/// tenant filters are part of every query, so a tenant's search never reads another tenant's rows.
/// </summary>
public sealed class RagIndex : IRagStore
{
    public const string FileName = "index.db";
    const int SchemaVersion = 2;   // 2: vectors, settings and IVF centroids (VectorStore)
    internal const string Tokenizer = "porter unicode61";
    readonly SqliteConnection _db;
    readonly Lock _gate = new();   // one connection: searches from several server threads take turns
    (long Version, Bm25Postings Postings)? _postings;
    long _lastFullTextVersion = -1;

    RagIndex(SqliteConnection db, string path)
    {
        (_db, Path) = (db, path);
        Vectors = new VectorStore(this);
    }

    /// <summary>The chunks' vectors, for dense and hybrid search.</summary>
    public VectorStore Vectors { get; }

    public string Path { get; }
    public string Location => System.IO.Path.GetDirectoryName(Path)!;

    public IRagWrite BeginWrite() => new SqliteWrite(this);

    public IReadOnlyList<SearchHit> SearchVectors(float[] query, int k, string collection = "default", string tenant = "", int probes = 0)
    {
        lock (_gate) return Hits([.. Vectors.Search(query, k, collection, tenant, probes).Select(r => (r.RowId, (double)r.Score))]);
    }

    public (string Id, int Dims)? Embedder { get { lock (_gate) return Vectors.Embedder; } }

    public (int Embedded, int Lists) EmbedAll(Retrieval.IndexEmbedder embedder, int? ivfLists = null, Action<int, int>? progress = null, CancellationToken cancel = default) =>
        Vectors.EmbedAll(embedder, ivfLists, progress, cancel);

    public (long Vectors, int Lists) VectorCount() => Vectors.Count();
    internal SqliteConnection Connection => _db;

    /// <summary>Opens (creating if needed) the index in <paramref name="dir"/>.</summary>
    public static RagIndex Open(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = System.IO.Path.Combine(dir, FileName);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        try
        {
            Execute(db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
            long version = Scalar<long>(db, "PRAGMA user_version");
            if (version == 0)
            {
                Execute(db, $"""
                    CREATE TABLE files (id INTEGER PRIMARY KEY, collection TEXT NOT NULL, tenant TEXT NOT NULL, path TEXT NOT NULL,
                                        sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, loader TEXT NOT NULL, title TEXT, ingested_at TEXT NOT NULL,
                                        UNIQUE (collection, tenant, path));
                    CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
                                         ordinal INTEGER NOT NULL, heading TEXT NOT NULL, page INTEGER, offset INTEGER NOT NULL,
                                         tokens INTEGER NOT NULL, text TEXT NOT NULL);
                    CREATE INDEX chunks_file ON chunks(file_id);
                    CREATE INDEX chunks_id ON chunks(id);
                    CREATE VIRTUAL TABLE chunks_fts USING fts5(text, heading, content='chunks', content_rowid='rowid', tokenize='{Tokenizer}');
                    CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
                        INSERT INTO chunks_fts(rowid, text, heading) VALUES (new.rowid, new.text, new.heading); END;
                    CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
                        INSERT INTO chunks_fts(chunks_fts, rowid, text, heading) VALUES ('delete', old.rowid, old.text, old.heading); END;
                    PRAGMA user_version = 1;
                    """);
                version = 1;
            }
            if (version == 1)   // an index from before dense search gains the vector tables; its chunks stay
            {
                using var tx = db.BeginTransaction();
                using (var cmd = db.CreateCommand())
                {
                    cmd.Transaction = tx;
                    cmd.CommandText = VectorStore.Schema + "PRAGMA user_version = 2;";
                    cmd.ExecuteNonQuery();
                }
                tx.Commit();
            }
            else if (version != SchemaVersion)
                throw new InvalidDataException($"{path}: index schema version {version}; this GenSharp reads version {SchemaVersion}");
            return new RagIndex(db, path);
        }
        catch (SqliteException e)
        {
            db.Dispose();
            throw new InvalidDataException($"{path}: not a GenSharp index ({e.Message})");
        }
        catch { db.Dispose(); throw; }
    }

    /// <summary>The recorded SHA-256 of a file, or null when it is not in the index.</summary>
    internal (long Id, string Sha256)? Find(string collection, string tenant, string path, SqliteTransaction tx)
    {
        using var cmd = Command("SELECT id, sha256 FROM files WHERE collection = $c AND tenant = $t AND path = $p", tx, ("$c", collection), ("$t", tenant), ("$p", path));
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetInt64(0), r.GetString(1)) : null;
    }

    /// <summary>Every file of a collection and tenant whose path starts with <paramref name="prefix"/>.</summary>
    internal List<(long Id, string Path)> Files(string collection, string tenant, string prefix, SqliteTransaction tx)
    {
        using var cmd = Command("SELECT id, path FROM files WHERE collection = $c AND tenant = $t AND substr(path, 1, length($p)) = $p", tx,
            ("$c", collection), ("$t", tenant), ("$p", prefix));
        using var r = cmd.ExecuteReader();
        var files = new List<(long, string)>();
        while (r.Read()) files.Add((r.GetInt64(0), r.GetString(1)));
        return files;
    }

    internal void Remove(long fileId, SqliteTransaction tx)
    {
        using (var chunks = Command("DELETE FROM chunks WHERE file_id = $f", tx, ("$f", fileId))) chunks.ExecuteNonQuery();
        using var file = Command("DELETE FROM files WHERE id = $f", tx, ("$f", fileId));
        file.ExecuteNonQuery();
    }

    internal void Add(string collection, string tenant, string path, string sha256, long bytes, string loader, string? title, IReadOnlyList<Chunk> chunks, SqliteTransaction tx)
    {
        long fileId;
        using (var file = Command("""
            INSERT INTO files (collection, tenant, path, sha256, bytes, loader, title, ingested_at) VALUES ($c, $t, $p, $h, $b, $l, $title, $at) RETURNING id
            """, tx, ("$c", collection), ("$t", tenant), ("$p", path), ("$h", sha256), ("$b", bytes), ("$l", loader), ("$title", title),
            ("$at", DateTimeOffset.UtcNow.ToString("O"))))
            fileId = (long)file.ExecuteScalar()!;
        using var insert = Command("""
            INSERT INTO chunks (id, file_id, ordinal, heading, page, offset, tokens, text) VALUES ($id, $f, $o, $h, $page, $off, $n, $text)
            """, tx, ("$id", ""), ("$f", fileId), ("$o", 0), ("$h", ""), ("$page", null), ("$off", 0L), ("$n", 0), ("$text", ""));
        foreach (var c in chunks)
        {
            insert.Parameters["$id"].Value = c.Id;
            insert.Parameters["$o"].Value = c.Ordinal;
            insert.Parameters["$h"].Value = c.Heading;
            insert.Parameters["$page"].Value = (object?)c.Page ?? DBNull.Value;
            insert.Parameters["$off"].Value = c.Offset;
            insert.Parameters["$n"].Value = c.Tokens;
            insert.Parameters["$text"].Value = c.Text;
            insert.ExecuteNonQuery();
        }
    }

    internal SqliteTransaction Begin() => _db.BeginTransaction();

    /// <summary>
    /// BM25 (FTS5's bm25(): k1 1.2, b 0.75, text and heading columns weighted 1) over the chunks of one collection and
    /// tenant. The query's words are matched as terms joined by OR, so any word may match and rarer words weigh more;
    /// English stop words are dropped (see <see cref="Terms"/>); FTS5 syntax in the query is not interpreted. The first
    /// search at a version of the data asks FTS5; a second one at the same version reads FTS5's postings into memory
    /// (<see cref="Bm25Postings"/>: about a second per 100k chunks) and ranks there from then on, with the same scores,
    /// until the data changes — so one-off searches cost nothing extra and a server or an evaluation runs in milliseconds.
    /// </summary>
    public IReadOnlyList<SearchHit> Search(string query, int k = 10, string collection = "default", string tenant = "")
    {
        if (k < 1) throw new ArgumentException($"k must be at least 1 (got {k})");
        var terms = Terms(query);
        if (terms.Count == 0) return [];
        lock (_gate)
        {
            if (Postings() is { } postings && postings.Terms(terms) is { } phrases)
                return Hits(postings.Search(phrases, k, collection, tenant));
            return FullTextSearch(terms, k, collection, tenant);
        }
    }

    /// <summary>Reads the BM25 postings into memory now rather than at the second search (a server does at start); returns how many.</summary>
    public long LoadPostings()
    {
        lock (_gate) return Postings(build: true)!.Postings;
    }

    /// <summary>The postings in memory when they are current or worth reading now (a second search at one data version).</summary>
    internal Bm25Postings? Postings(bool build = false)
    {
        long version = DataVersion();
        if (_postings is { } cached && cached.Version == version) return cached.Postings;
        bool repeated = _lastFullTextVersion == version;
        _lastFullTextVersion = version;
        if (!repeated && !build) return null;
        _postings?.Postings.Dispose();
        _postings = null;
        using var tx = _db.BeginTransaction(deferred: true);   // one snapshot for every read of the build
        var postings = Bm25Postings.Build(this, tx);
        _postings = (version, postings);
        return postings;
    }

    // FTS5 ranks: every row holding a term is scored, then sorted; only row ids and scores go through the sort.
    internal List<SearchHit> FullTextSearch(List<string> terms, int k, string collection, string tenant)
    {
        var ranked = new List<(long, double)>();
        using (var cmd = Command("""
            SELECT chunks_fts.rowid, -bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid JOIN files f ON f.id = c.file_id
            WHERE chunks_fts MATCH $q AND f.collection = $c AND f.tenant = $t
            ORDER BY bm25(chunks_fts), chunks_fts.rowid LIMIT $k
            """, null, ("$q", string.Join(" OR ", terms.Select(t => $"\"{t}\""))), ("$c", collection), ("$t", tenant), ("$k", k)))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) ranked.Add((r.GetInt64(0), r.GetDouble(1)));
        return Hits(ranked);
    }

    /// <summary>The chunks with these row ids as hits carrying the given scores, in the given order (ids no longer present are left out).</summary>
    internal List<SearchHit> Hits(IReadOnlyList<(long RowId, double Score)> ranked)
    {
        if (ranked.Count == 0) return [];
        using var cmd = Command($"""
            SELECT c.rowid, c.id, f.path, c.heading, c.text, c.page, c.offset FROM chunks c JOIN files f ON f.id = c.file_id
            WHERE c.rowid IN ({string.Join(", ", ranked.Select(r => r.RowId))})
            """, null);
        var rows = new Dictionary<long, SearchHit>();
        using (var r = cmd.ExecuteReader())
            while (r.Read())
                rows[r.GetInt64(0)] = new SearchHit(r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetInt32(5), r.GetInt64(6), 0);
        return [.. ranked.Where(x => rows.ContainsKey(x.RowId)).Select(x => rows[x.RowId] with { Score = x.Score })];
    }

    // Lucene's English stop words: they match nearly every chunk, so they cost most of a query's time and add almost
    // nothing to its ranking (their idf is near zero).
    static readonly HashSet<string> StopWords = ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
        "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with"];

    /// <summary>The words of a query (letters and digits) as FTS5 terms, stop words left out unless the query has nothing else.</summary>
    public static List<string> Terms(string query)
    {
        var words = System.Text.RegularExpressions.Regex.Matches(query, @"[\p{L}\p{N}]+").Select(m => m.Value.ToLowerInvariant()).Distinct().ToList();
        var content = words.Where(w => !StopWords.Contains(w)).ToList();
        return content.Count > 0 ? content : words;
    }

    /// <summary>Every chunk of a collection and tenant as the text a dense encoder reads (<see cref="EmbeddingText"/>), in file order.</summary>
    public IEnumerable<(long RowId, string Source, string Text)> Passages(string collection = "default", string tenant = "")
    {
        using var cmd = Command("""
            SELECT c.rowid, f.path, c.heading, c.text FROM chunks c JOIN files f ON f.id = c.file_id
            WHERE f.collection = $c AND f.tenant = $t ORDER BY c.file_id, c.ordinal
            """, null, ("$c", collection), ("$t", tenant));
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return (r.GetInt64(0), r.GetString(1), EmbeddingText(r.GetString(2), r.GetString(3)));
    }

    /// <summary>What a dense encoder reads of a chunk: its heading path, then its text (the heading names the document).</summary>
    public static string EmbeddingText(string heading, string text) => heading.Length == 0 ? text : $"{heading}\n{text}";

    /// <summary>The paths of every file a collection and tenant hold.</summary>
    public List<string> Sources(string collection = "default", string tenant = "")
    {
        using var _ = _gate.EnterScope();
        using var cmd = Command("SELECT path FROM files WHERE collection = $c AND tenant = $t ORDER BY path", null, ("$c", collection), ("$t", tenant));
        using var r = cmd.ExecuteReader();
        var paths = new List<string>();
        while (r.Read()) paths.Add(r.GetString(0));
        return paths;
    }

    /// <summary>How many files and chunks a collection and tenant hold.</summary>
    public (long Files, long Chunks) Count(string collection = "default", string tenant = "")
    {
        using var _ = _gate.EnterScope();
        return (Scalar<long>(_db, "SELECT count(*) FROM files WHERE collection = $c AND tenant = $t", ("$c", collection), ("$t", tenant)),
         Scalar<long>(_db, "SELECT count(*) FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.collection = $c AND f.tenant = $t", ("$c", collection), ("$t", tenant)));
    }

    internal void Execute(string sql, SqliteTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, tx, parameters);
        cmd.ExecuteNonQuery();
    }

    internal object? Scalar(string sql, SqliteTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, tx, parameters);
        return cmd.ExecuteScalar();
    }

    // Changes by other connections (data_version) and by this one (total_changes): a cache of rows is stale when either moved.
    internal long DataVersion() => Convert.ToInt64(Scalar("SELECT (SELECT data_version FROM pragma_data_version()) * 4294967296 + total_changes()", null));

    internal SqliteCommand Command(string sql, SqliteTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    static void Execute(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    static T Scalar<T>(SqliteConnection db, string sql, params (string Name, object Value)[] parameters)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return (T)Convert.ChangeType(cmd.ExecuteScalar()!, typeof(T));
    }

    public void Dispose()
    {
        _postings?.Postings.Dispose();
        _db.Dispose();
    }
}
