using GenSharp.Rag.Chunking;
using GenSharp.Rag.Retrieval;
using Npgsql;

namespace GenSharp.Rag.Index;

/// <summary>A write session on PostgreSQL: one connection, one transaction (rolled back if disposed uncommitted); chunks arrive by binary COPY.</summary>
internal sealed class PostgresWrite : IRagWrite
{
    readonly PostgresStore _store;
    readonly NpgsqlConnection _conn;
    readonly NpgsqlTransaction _tx;

    public PostgresWrite(PostgresStore store, NpgsqlConnection conn)
    {
        (_store, _conn) = (store, conn);
        _tx = conn.BeginTransaction();
    }

    string S => _store.Schema;

    NpgsqlCommand Command(string sql, params object?[] values)
    {
        var cmd = new NpgsqlCommand(sql, _conn, _tx);
        foreach (var v in values) cmd.Parameters.AddWithValue(v ?? DBNull.Value);
        return cmd;
    }

    public (long Id, string Sha256)? Find(string collection, string tenant, string path)
    {
        using var cmd = Command($"SELECT id, sha256 FROM {S}.rag_files WHERE collection = $1 AND tenant = $2 AND path = $3", collection, tenant, path);
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetInt64(0), r.GetString(1)) : null;
    }

    public List<(long Id, string Path)> Files(string collection, string tenant, string prefix)
    {
        using var cmd = Command($"SELECT id, path FROM {S}.rag_files WHERE collection = $1 AND tenant = $2 AND left(path, length($3)) = $3", collection, tenant, prefix);
        using var r = cmd.ExecuteReader();
        var files = new List<(long, string)>();
        while (r.Read()) files.Add((r.GetInt64(0), r.GetString(1)));
        return files;
    }

    public void Remove(long fileId)
    {
        using var cmd = Command($"DELETE FROM {S}.rag_files WHERE id = $1", fileId);   // chunks go by ON DELETE CASCADE
        cmd.ExecuteNonQuery();
    }

    public void Add(string collection, string tenant, string path, string sha256, long bytes, string loader, string? title, IReadOnlyList<Chunk> chunks)
    {
        long fileId;
        using (var file = Command($"INSERT INTO {S}.rag_files (collection, tenant, path, sha256, bytes, loader, title) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                   collection, tenant, path, sha256, bytes, loader, title))
            fileId = (long)file.ExecuteScalar()!;
        using var copy = _conn.BeginBinaryImport($"COPY {S}.rag_chunks (id, file_id, collection, tenant, ordinal, heading, page, \"offset\", tokens, text) FROM STDIN (FORMAT BINARY)");
        foreach (var c in chunks)
        {
            copy.StartRow();
            copy.Write(c.Id);
            copy.Write(fileId);
            copy.Write(collection);
            copy.Write(tenant);
            copy.Write(c.Ordinal);
            copy.Write(c.Heading);
            if (c.Page is { } p) copy.Write(p); else copy.WriteNull();
            copy.Write(c.Offset);
            copy.Write(c.Tokens);
            copy.Write(c.Text);
        }
        copy.Complete();
    }

    public int Embed(IndexEmbedder embedder, Action<int, int>? progress = null, CancellationToken cancel = default) =>
        _store.Embed(_conn, _tx, embedder, progress, cancel);

    public void Commit() => _tx.Commit();

    public void Dispose()
    {
        _tx.Dispose();
        _conn.Dispose();
    }
}
