using GenSharp.Rag.Retrieval;

namespace GenSharp.Rag.Index;

/// <summary>
/// Where an index lives: one SQLite file (<see cref="RagIndex"/>, the embedded default) or a PostgreSQL database with
/// pgvector (<see cref="PostgresStore"/>, for several machines and servers). Ingest, search and answering see only this
/// interface. Every read takes a collection and a tenant, and the store applies them inside its query, so one tenant's
/// search never reads another's rows.
/// </summary>
public interface IRagStore : IDisposable
{
    /// <summary>The directory or URL (without password) the store was opened from, for messages.</summary>
    string Location { get; }

    /// <summary>A write session: everything in it lands at <see cref="IRagWrite.Commit"/> or not at all.</summary>
    IRagWrite BeginWrite();

    /// <summary>Full-text search: BM25 in SQLite (FTS5), PostgreSQL's ts_rank over the same terms in PostgreSQL.</summary>
    IReadOnlyList<SearchHit> Search(string query, int k = 10, string collection = "default", string tenant = "");

    /// <summary>The k chunks nearest a query vector by cosine (exact, or approximate with <paramref name="probes"/> &gt; 0 where the store has an index).</summary>
    IReadOnlyList<SearchHit> SearchVectors(float[] query, int k, string collection = "default", string tenant = "", int probes = 0);

    /// <summary>The embedder the vectors were made with (id, dimensions), or null before any.</summary>
    (string Id, int Dims)? Embedder { get; }

    /// <summary>Embeds every chunk without a vector in one transaction and maintains the approximate index (see each store).</summary>
    (int Embedded, int Lists) EmbedAll(IndexEmbedder embedder, int? ivfLists = null, Action<int, int>? progress = null, CancellationToken cancel = default);

    /// <summary>How many chunks have vectors, and the approximate index's lists (0 when it has none or does not use lists).</summary>
    (long Vectors, int Lists) VectorCount();

    /// <summary>Every chunk of a collection and tenant as the text a dense encoder reads, with its source file, in file order.</summary>
    IEnumerable<(long RowId, string Source, string Text)> Passages(string collection = "default", string tenant = "");

    List<string> Sources(string collection = "default", string tenant = "");

    (long Files, long Chunks) Count(string collection = "default", string tenant = "");
}

/// <summary>One transaction of an ingest: files looked up, removed and added, new chunks embedded; nothing is visible before <see cref="Commit"/>.</summary>
public interface IRagWrite : IDisposable
{
    /// <summary>The recorded id and SHA-256 of a file, or null when it is not in the index.</summary>
    (long Id, string Sha256)? Find(string collection, string tenant, string path);

    /// <summary>Every file of a collection and tenant whose path starts with <paramref name="prefix"/>.</summary>
    List<(long Id, string Path)> Files(string collection, string tenant, string prefix);

    void Remove(long fileId);

    void Add(string collection, string tenant, string path, string sha256, long bytes, string loader, string? title, IReadOnlyList<Chunking.Chunk> chunks);

    /// <summary>Embeds every chunk without a vector (a new embedder replaces all vectors); returns how many.</summary>
    int Embed(IndexEmbedder embedder, Action<int, int>? progress = null, CancellationToken cancel = default);

    void Commit();
}
