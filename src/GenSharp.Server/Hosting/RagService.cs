using GenSharp.Rag.Index;
using GenSharp.Rag.Retrieval;

namespace GenSharp.Server.Hosting;

/// <summary>
/// The documents a server answers from (<c>gensharp serve --rag-index DIR | --rag-store URL</c>): one store, one collection
/// and one tenant fixed at start — a request cannot name another tenant — and the embedder its vectors were made with.
/// </summary>
public sealed class RagService(IRagStore store, IndexEmbedder? embedder, string collection = "default", string tenant = "") : IDisposable
{
    public IRagStore Store => store;
    public string Collection => collection;
    public string Tenant => tenant;
    // SQLite: exact vector search (5 ms at 100k chunks); PostgreSQL: HNSW with ef_search 80 (~96 % of exact's top ten at 10k).
    public Retriever Retriever { get; } = new(store, embedder) { Probes = store is PostgresStore ? 80 : 0 };

    /// <summary>Hybrid when the store has vectors and the embedder is here, else BM25.</summary>
    public SearchMode DefaultMode => embedder is not null && store.Embedder is not null ? SearchMode.Hybrid : SearchMode.Bm25;

    public void Dispose() => store.Dispose();
}
