using GenSharp.Rag.Chunking;
using GenSharp.Rag.Retrieval;
using Microsoft.Data.Sqlite;

namespace GenSharp.Rag.Index;

/// <summary>A write session on the SQLite index: one SQLite transaction (rolled back if disposed uncommitted).</summary>
internal sealed class SqliteWrite(RagIndex index) : IRagWrite
{
    readonly SqliteTransaction _tx = index.Begin();

    public (long Id, string Sha256)? Find(string collection, string tenant, string path) => index.Find(collection, tenant, path, _tx);
    public List<(long Id, string Path)> Files(string collection, string tenant, string prefix) => index.Files(collection, tenant, prefix, _tx);
    public void Remove(long fileId) => index.Remove(fileId, _tx);
    public void Add(string collection, string tenant, string path, string sha256, long bytes, string loader, string? title, IReadOnlyList<Chunk> chunks) =>
        index.Add(collection, tenant, path, sha256, bytes, loader, title, chunks, _tx);
    public int Embed(IndexEmbedder embedder, Action<int, int>? progress = null, CancellationToken cancel = default) =>
        index.Vectors.Embed(embedder.Generator, embedder.Id, _tx, progress, cancel);
    public void Commit() => _tx.Commit();
    public void Dispose() => _tx.Dispose();
}
