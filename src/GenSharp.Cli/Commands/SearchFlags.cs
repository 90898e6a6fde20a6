using System.CommandLine;
using GenSharp.Rag.Index;
using GenSharp.Rag.Retrieval;

namespace GenSharp.Cli.Commands;

/// <summary>The flags of every command that searches an index (<c>rag search | ask | eval</c>): where the index is, which
/// embedder, which mode, how many probes, which collection and tenant.</summary>
sealed class SearchFlags(string modeHelp)
{
    public readonly StoreFlags Store = new();
    public readonly EmbedderFlags Embedder = new();
    public readonly Option<string?> Mode = Cli.Opt<string?>("--mode", modeHelp);
    public readonly Option<int> Probes = Cli.Opt("--nprobe", "Approximate dense search: IVF lists scanned (SQLite) or hnsw.ef_search (PostgreSQL); 0: exact search", 0);
    public readonly Option<string> Collection = CollectionOption();
    public readonly Option<string> Tenant = TenantOption();

    public static Option<string> CollectionOption() => Cli.Opt("--collection", "A named set of documents inside the index", "default");
    public static Option<string> TenantOption() => Cli.Opt("--tenant", "Whose documents (searches of one tenant never see another's)", "");

    public Option[] Options => [.. Store.Options, .. Embedder.Options, Mode, Probes, Collection, Tenant];

    /// <summary>The index and the embedder its vectors need (null when it has none and none was named).</summary>
    public (IRagStore Store, IndexEmbedder? Embedder) Open(ParseResult r)
    {
        var store = Store.Open(r);
        try { return (store, Embedder.Resolve(r, store)); }
        catch { store.Dispose(); throw; }
    }

    /// <summary>--mode, or hybrid when there is an embedder, else bm25.</summary>
    public SearchMode ModeOf(ParseResult r, IndexEmbedder? embedder)
    {
        try { return r.GetValue(Mode) is { } name ? Rag.Retrieval.Retriever.ParseMode(name) : embedder is null ? SearchMode.Bm25 : SearchMode.Hybrid; }
        catch (ArgumentException e) { throw new UserError("--" + e.Message); }
    }

    /// <summary>A retriever that has checked it can run <paramref name="mode"/> here (the index's error otherwise, before any query).</summary>
    public Rag.Retrieval.Retriever Retriever(ParseResult r, IRagStore store, IndexEmbedder? embedder, SearchMode mode)
    {
        var retriever = new Rag.Retrieval.Retriever(store, embedder) { Probes = r.GetValue(Probes) };
        retriever.Check(mode);
        return retriever;
    }
}
