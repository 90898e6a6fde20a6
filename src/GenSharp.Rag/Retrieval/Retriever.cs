using GenSharp.Rag.Index;
using Microsoft.Extensions.AI;

namespace GenSharp.Rag.Retrieval;

/// <summary>
/// Search over an index by BM25, dense vectors, or both (<see cref="SearchMode"/>). Dense search embeds the query with the
/// same embedder that made the index's vectors (<paramref name="embedder"/>, whose id must match the one the index
/// records), and hybrid search fuses the two rankings, each <see cref="Depth"/> deep, by reciprocal rank.
/// </summary>
public sealed class Retriever(IRagStore index, IndexEmbedder? embedder = null)
{
    /// <summary>How many chunks each ranking contributes to a fusion (at least the k asked for).</summary>
    public int Depth { get; init; } = 100;

    /// <summary>
    /// The RRF constant for hybrid search. 10 rather than the paper's 60: chosen on half of the man-page queries and
    /// checked on the other half (docs/benchmarks.md, "Retrieval"); a smaller k trusts each list's first places more.
    /// </summary>
    public int FusionK { get; init; } = 10;

    /// <summary>IVF lists probed per query (0: exact search). Used only when the index has IVF lists.</summary>
    public int Probes { get; init; }

    public IRagStore Store => index;

    /// <summary>bm25, dense or hybrid (any case); anything else is an error naming the choices.</summary>
    public static SearchMode ParseMode(string name) => name.ToLowerInvariant() switch
    {
        "bm25" => SearchMode.Bm25,
        "dense" => SearchMode.Dense,
        "hybrid" => SearchMode.Hybrid,
        _ => throw new ArgumentException($"mode must be bm25, dense or hybrid (got '{name}')"),
    };

    /// <summary>Fails early, with what to do, when <paramref name="mode"/> cannot run on this index with this embedder.</summary>
    public void Check(SearchMode mode)
    {
        if (mode == SearchMode.Bm25) return;
        var recorded = index.Embedder
            ?? throw new InvalidOperationException($"{index.Location}: the index has no vectors; run gensharp rag embed --index DIR --embedder MODEL first");
        if (embedder is null) throw new InvalidOperationException($"{mode.ToString().ToLowerInvariant()} search needs the embedder the index was made with ({recorded.Id})");
        if (embedder.Id != recorded.Id)
            throw new InvalidOperationException($"{index.Location}: its vectors were made by {recorded.Id}, not {embedder.Id}; search with that embedder or re-embed");
    }

    public async Task<IReadOnlyList<SearchHit>> SearchAsync(string query, int k, SearchMode mode, string collection = "default", string tenant = "",
        CancellationToken cancel = default)
    {
        if (k < 1) throw new ArgumentException($"k must be at least 1 (got {k})");
        Check(mode);
        return mode switch
        {
            SearchMode.Bm25 => index.Search(query, k, collection, tenant),
            SearchMode.Dense => await DenseAsync(query, k, collection, tenant, cancel).ConfigureAwait(false),
            _ => ReciprocalRankFusion.Fuse([index.Search(query, Math.Max(k, Depth), collection, tenant),
                    await DenseAsync(query, Math.Max(k, Depth), collection, tenant, cancel).ConfigureAwait(false)], FusionK).Take(k).ToList(),
        };
    }

    /// <summary>The same, blocking: for the command line and the evaluator.</summary>
    public IReadOnlyList<SearchHit> Search(string query, int k, SearchMode mode, string collection = "default", string tenant = "") =>
        SearchAsync(query, k, mode, collection, tenant).GetAwaiter().GetResult();

    async Task<IReadOnlyList<SearchHit>> DenseAsync(string query, int k, string collection, string tenant, CancellationToken cancel)
    {
        if (query.Trim().Length == 0) return [];
        var vector = (await embedder!.Generator.GenerateAsync([query], cancellationToken: cancel).ConfigureAwait(false))[0].Vector.ToArray();
        return index.SearchVectors(vector, k, collection, tenant, Probes);
    }
}
