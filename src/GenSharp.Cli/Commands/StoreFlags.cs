using System.CommandLine;
using GenSharp.Rag.Index;

namespace GenSharp.Cli.Commands;

/// <summary>Where an index lives: <c>--index DIR</c> (one SQLite file, the default) or <c>--store postgres://…</c> (PostgreSQL with pgvector).</summary>
sealed class StoreFlags
{
    public readonly Option<string?> Index = Cli.Opt<string?>("--index", "The index directory (the SQLite file index.db in it)");
    public readonly Option<string?> Url = Cli.Opt<string?>("--store", "A PostgreSQL database with pgvector instead: postgres://user@host:port/database[?schema=name] (password in PGPASSWORD)");

    public Option[] Options => [Index, Url];

    /// <summary>Opens the store; only ingest may create a SQLite index (<paramref name="create"/>).</summary>
    public IRagStore Open(ParseResult r, bool create = false)
    {
        var (dir, url) = (r.GetValue(Index), r.GetValue(Url));
        if (dir is not null && url is not null) throw new UserError("pass --index DIR or --store URL, not both");
        if (url is not null) return PostgresStore.IsUrl(url) ? PostgresStore.Open(url) : throw new UserError($"--store {url}: expected a postgres:// URL (for a directory use --index)");
        if (dir is null) throw new UserError("pass --index DIR (an embedded index) or --store postgres://… (PostgreSQL)");
        if (!create && !File.Exists(Path.Combine(dir, RagIndex.FileName)))
            throw new UserError($"{dir}: no index (gensharp rag ingest PATH --index {dir} makes one)");
        return RagIndex.Open(dir);
    }
}
