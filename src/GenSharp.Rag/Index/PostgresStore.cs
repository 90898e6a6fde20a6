using GenSharp.IO;
using GenSharp.Rag.Retrieval;
using Npgsql;
using GenSharp.Rag.Vectors;
using Pgvector;

namespace GenSharp.Rag.Index;

/// <summary>
/// The scale-out store: PostgreSQL with pgvector, opened from a URL (<c>postgres://user[:password]@host[:port]/database[?schema=name]</c>).
/// Files and chunks are rows; full-text search uses a generated tsvector (English stemming, GIN index) ranked by ts_rank —
/// PostgreSQL has no BM25 — over the same terms as the SQLite store; vectors live in the chunk rows with an HNSW index
/// (inner product of unit vectors = cosine). Filtered vector queries use pgvector's iterative index scans, so a tenant's
/// k nearest chunks are found even when most of the graph's nearest belong to others. Several servers can share it.
/// </summary>
public sealed class PostgresStore : IRagStore
{
    const int EmbedBatch = 256;
    readonly NpgsqlDataSource _db;
    readonly string _schema;

    PostgresStore(NpgsqlDataSource db, string location, string schema) => (_db, Location, _schema) = (db, location, schema);

    public string Location { get; }

    /// <summary>True for the URLs this store opens (postgres:// and postgresql://).</summary>
    public static bool IsUrl(string location) => PostgresUrl.Is(location);

    /// <summary>Connects, creating the schema, tables and pgvector extension if needed. A server that is down is an error naming the URL.</summary>
    public static PostgresStore Open(string url)
    {
        var (connection, location, schema) = Parse(url);
        var builder = new NpgsqlDataSourceBuilder(connection);
        builder.UseVector();
        var db = builder.Build();
        var store = new PostgresStore(db, location, schema);
        try { store.CreateSchema(); }
        catch (Exception e) when (e is NpgsqlException or PostgresException or TimeoutException)
        {
            db.Dispose();
            throw new InvalidOperationException($"{location}: PostgreSQL is not reachable or refused the set-up ({e.Message})");
        }
        return store;
    }

    static (string Connection, string Location, string Schema) Parse(string url)
    {
        var u = PostgresUrl.Parse(url);
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = u.Host, Port = u.Port, Database = u.Database, Username = u.User, Password = u.Password,
            SearchPath = $"{u.Schema},public", Timeout = 10, CommandTimeout = 600,
        };
        return (b.ConnectionString, u.Display, u.Schema);
    }

    void CreateSchema()
    {
        using var conn = _db.OpenConnection();
        using var tx = conn.BeginTransaction();
        Exec(conn, tx, "SELECT pg_advisory_xact_lock(74720201)");   // two servers starting at once create the tables once
        Exec(conn, tx, $"""
            CREATE EXTENSION IF NOT EXISTS vector SCHEMA public;
            CREATE SCHEMA IF NOT EXISTS {_schema};
            CREATE TABLE IF NOT EXISTS {_schema}.rag_files (id bigserial PRIMARY KEY, collection text NOT NULL, tenant text NOT NULL, path text NOT NULL,
                sha256 text NOT NULL, bytes bigint NOT NULL, loader text NOT NULL, title text, ingested_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (collection, tenant, path));
            CREATE TABLE IF NOT EXISTS {_schema}.rag_chunks (rowid bigserial PRIMARY KEY, id text NOT NULL,
                file_id bigint NOT NULL REFERENCES {_schema}.rag_files(id) ON DELETE CASCADE, collection text NOT NULL, tenant text NOT NULL,
                ordinal int NOT NULL, heading text NOT NULL, page int, "offset" bigint NOT NULL, tokens int NOT NULL, text text NOT NULL,
                tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', heading || ' ' || text)) STORED, embedding vector);
            CREATE INDEX IF NOT EXISTS rag_chunks_tsv ON {_schema}.rag_chunks USING gin (tsv);
            CREATE INDEX IF NOT EXISTS rag_chunks_scope ON {_schema}.rag_chunks (collection, tenant);
            CREATE INDEX IF NOT EXISTS rag_chunks_file ON {_schema}.rag_chunks (file_id);
            CREATE TABLE IF NOT EXISTS {_schema}.rag_settings (key text PRIMARY KEY, value text NOT NULL);
            """);
        tx.Commit();
    }

    static void Exec(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = new NpgsqlCommand(sql, conn, tx);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    internal NpgsqlConnection Connect()
    {
        try { return _db.OpenConnection(); }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        { throw new InvalidOperationException($"{Location}: PostgreSQL is not reachable ({e.Message})"); }
    }

    public IRagWrite BeginWrite() => new PostgresWrite(this, Connect());

    const string HitColumns = "c.id, f.path, c.heading, c.text, c.page, c.\"offset\"";

    static SearchHit ReadHit(NpgsqlDataReader r, double score) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetInt32(4), r.GetInt64(5), score);

    public IReadOnlyList<SearchHit> Search(string query, int k = 10, string collection = "default", string tenant = "")
    {
        if (k < 1) throw new ArgumentException($"k must be at least 1 (got {k})");
        var terms = RagIndex.Terms(query);
        if (terms.Count == 0) return [];
        using var conn = Connect();
        using var cmd = new NpgsqlCommand($"""
            SELECT {HitColumns}, ts_rank(c.tsv, q) AS score
            FROM {_schema}.rag_chunks c JOIN {_schema}.rag_files f ON f.id = c.file_id, to_tsquery('english', $1) q
            WHERE c.tsv @@ q AND c.collection = $2 AND c.tenant = $3
            ORDER BY score DESC, c.rowid LIMIT $4
            """, conn);
        cmd.Parameters.AddWithValue(string.Join(" | ", terms));
        cmd.Parameters.AddWithValue(collection);
        cmd.Parameters.AddWithValue(tenant);
        cmd.Parameters.AddWithValue(k);
        using var r = cmd.ExecuteReader();
        var hits = new List<SearchHit>();
        while (r.Read()) hits.Add(ReadHit(r, r.GetFloat(6)));
        return hits;
    }

    /// <summary>Exact (a scan of the tenant's rows) when <paramref name="probes"/> is 0; else the HNSW index with ef_search = max(probes, k) and an iterative scan.</summary>
    public IReadOnlyList<SearchHit> SearchVectors(float[] query, int k, string collection = "default", string tenant = "", int probes = 0)
    {
        using var conn = Connect();
        using var tx = conn.BeginTransaction();
        if (EmbedderIn(conn, tx) is not { } e) return [];
        if (query.Length != e.Dims) throw new ArgumentException($"the query vector has {query.Length} dimensions; the index holds {e.Dims}");
        Exec(conn, tx, probes > 0
            ? $"SET LOCAL hnsw.ef_search = {Math.Clamp(Math.Max(probes, k), 1, 1000)}; SET LOCAL hnsw.iterative_scan = strict_order"
            : "SET LOCAL enable_indexscan = off");
        using var cmd = new NpgsqlCommand($"""
            SELECT {HitColumns}, -(c.embedding <#> $1) AS score
            FROM {_schema}.rag_chunks c JOIN {_schema}.rag_files f ON f.id = c.file_id
            WHERE c.collection = $2 AND c.tenant = $3 AND c.embedding IS NOT NULL
            ORDER BY c.embedding <#> $1 LIMIT $4
            """, conn, tx);
        cmd.Parameters.AddWithValue(new Vector(VectorMath.Unit((float[])query.Clone())));
        cmd.Parameters.AddWithValue(collection);
        cmd.Parameters.AddWithValue(tenant);
        cmd.Parameters.AddWithValue(k);
        var hits = new List<SearchHit>();
        using (var r = cmd.ExecuteReader())
            while (r.Read()) hits.Add(ReadHit(r, r.GetDouble(6)));
        tx.Commit();
        return hits;
    }

    public (string Id, int Dims)? Embedder
    {
        get
        {
            using var conn = Connect();
            return EmbedderIn(conn, null);
        }
    }

    internal (string Id, int Dims)? EmbedderIn(NpgsqlConnection conn, NpgsqlTransaction? tx)
    {
        using var cmd = new NpgsqlCommand($"SELECT key, value FROM {_schema}.rag_settings WHERE key IN ('embedder', 'dims')", conn, tx);
        using var r = cmd.ExecuteReader();
        var s = new Dictionary<string, string>();
        while (r.Read()) s[r.GetString(0)] = r.GetString(1);
        return s.TryGetValue("embedder", out var id) && s.TryGetValue("dims", out var d) ? (id, int.Parse(d)) : null;
    }

    /// <summary>Embeds in one transaction; the HNSW index is rebuilt after a bulk load (faster than growing it row by row). No lists: <paramref name="ivfLists"/> is ignored.</summary>
    public (int Embedded, int Lists) EmbedAll(IndexEmbedder embedder, int? ivfLists = null, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        using var write = (PostgresWrite)BeginWrite();
        int n = write.Embed(embedder, progress, cancel);
        write.Commit();
        return (n, 0);
    }

    internal int Embed(NpgsqlConnection conn, NpgsqlTransaction tx, IndexEmbedder embedder, Action<int, int>? progress, CancellationToken cancel)
    {
        var current = EmbedderIn(conn, tx);
        if (current is { } c && c.Id != embedder.Id)
            Exec(conn, tx, $"""
                DROP INDEX IF EXISTS {_schema}.rag_chunks_hnsw; UPDATE {_schema}.rag_chunks SET embedding = NULL;
                ALTER TABLE {_schema}.rag_chunks ALTER COLUMN embedding TYPE vector; DELETE FROM {_schema}.rag_settings WHERE key = 'dims'
                """);
        Exec(conn, tx, $"INSERT INTO {_schema}.rag_settings (key, value) VALUES ('embedder', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", ("", embedder.Id));
        var missing = new List<(long RowId, string Text)>();
        using (var cmd = new NpgsqlCommand($"SELECT rowid, heading, text FROM {_schema}.rag_chunks WHERE embedding IS NULL ORDER BY rowid", conn, tx))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) missing.Add((r.GetInt64(0), RagIndex.EmbeddingText(r.GetString(1), r.GetString(2))));
        if (missing.Count == 0) return 0;
        int? dims = EmbedderIn(conn, tx)?.Dims;
        bool fixType = dims is null;   // the column gets its dimensions (which HNSW needs) with the first vectors
        bool bulk = missing.Count > 1000;   // rebuild the graph once rather than insert into it row by row
        if (bulk) Exec(conn, tx, $"DROP INDEX IF EXISTS {_schema}.rag_chunks_hnsw");
        Exec(conn, tx, "CREATE TEMP TABLE rag_new_vectors (rowid bigint PRIMARY KEY, embedding vector) ON COMMIT DROP");
        for (int start = 0; start < missing.Count; start += EmbedBatch)
        {
            cancel.ThrowIfCancellationRequested();
            var batch = missing.Skip(start).Take(EmbedBatch).ToList();
            var vectors = embedder.Generator.GenerateAsync(batch.Select(b => b.Text), cancellationToken: cancel).GetAwaiter().GetResult();
            if (vectors.Count != batch.Count) throw new InvalidOperationException($"the embedder returned {vectors.Count} vectors for {batch.Count} texts");
            using (var copy = conn.BeginBinaryImport("COPY rag_new_vectors (rowid, embedding) FROM STDIN (FORMAT BINARY)"))
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    var v = VectorMath.Unit(vectors[i].Vector.ToArray());
                    if (dims is { } d && d != v.Length) throw new InvalidOperationException($"the embedder returned {v.Length} dimensions; the index holds {d}");
                    dims = v.Length;
                    copy.StartRow();
                    copy.Write(batch[i].RowId);
                    copy.Write(new Vector(v));
                }
                copy.Complete();
            }
            progress?.Invoke(Math.Min(start + EmbedBatch, missing.Count), missing.Count);
        }
        Exec(conn, tx, $"INSERT INTO {_schema}.rag_settings (key, value) VALUES ('dims', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", ("", dims!.Value.ToString()));
        if (fixType) Exec(conn, tx, $"ALTER TABLE {_schema}.rag_chunks ALTER COLUMN embedding TYPE vector({dims})");
        Exec(conn, tx, $"""
            UPDATE {_schema}.rag_chunks c SET embedding = n.embedding FROM rag_new_vectors n WHERE c.rowid = n.rowid;
            SET LOCAL maintenance_work_mem = '512MB';
            CREATE INDEX IF NOT EXISTS rag_chunks_hnsw ON {_schema}.rag_chunks USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 128);
            """);
        return missing.Count;
    }

    public (long Vectors, int Lists) VectorCount()
    {
        using var conn = Connect();
        using var cmd = new NpgsqlCommand($"SELECT count(*) FROM {_schema}.rag_chunks WHERE embedding IS NOT NULL", conn);
        return ((long)cmd.ExecuteScalar()!, 0);
    }

    public IEnumerable<(long RowId, string Source, string Text)> Passages(string collection = "default", string tenant = "")
    {
        using var conn = Connect();
        using var cmd = new NpgsqlCommand($"""
            SELECT c.rowid, f.path, c.heading, c.text FROM {_schema}.rag_chunks c JOIN {_schema}.rag_files f ON f.id = c.file_id
            WHERE c.collection = $1 AND c.tenant = $2 ORDER BY c.file_id, c.ordinal
            """, conn);
        cmd.Parameters.AddWithValue(collection);
        cmd.Parameters.AddWithValue(tenant);
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return (r.GetInt64(0), r.GetString(1), RagIndex.EmbeddingText(r.GetString(2), r.GetString(3)));
    }

    public List<string> Sources(string collection = "default", string tenant = "")
    {
        using var conn = Connect();
        using var cmd = new NpgsqlCommand($"SELECT path FROM {_schema}.rag_files WHERE collection = $1 AND tenant = $2 ORDER BY path COLLATE \"C\"", conn);
        cmd.Parameters.AddWithValue(collection);
        cmd.Parameters.AddWithValue(tenant);
        using var r = cmd.ExecuteReader();
        var paths = new List<string>();
        while (r.Read()) paths.Add(r.GetString(0));
        return paths;
    }

    public (long Files, long Chunks) Count(string collection = "default", string tenant = "")
    {
        using var conn = Connect();
        using var cmd = new NpgsqlCommand($"""
            SELECT (SELECT count(*) FROM {_schema}.rag_files WHERE collection = $1 AND tenant = $2),
                   (SELECT count(*) FROM {_schema}.rag_chunks WHERE collection = $1 AND tenant = $2)
            """, conn);
        cmd.Parameters.AddWithValue(collection);
        cmd.Parameters.AddWithValue(tenant);
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.GetInt64(1));
    }

    internal string Schema => _schema;

    /// <summary>Drops this store's tables (and its schema when it is not public): for tests and benchmarks.</summary>
    public void Drop()
    {
        using var conn = Connect();
        Exec(conn, null, _schema == "public"
            ? "DROP TABLE IF EXISTS public.rag_chunks, public.rag_files, public.rag_settings"
            : $"DROP SCHEMA IF EXISTS {_schema} CASCADE");
    }

    public void Dispose() => _db.Dispose();
}
