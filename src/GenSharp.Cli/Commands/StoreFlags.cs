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
    public IRagStore Open(ParseResult r, bool create = false) => Open(r.GetValue(Index), r.GetValue(Url), "--index", "--store", create);

    /// <summary>A store from a directory or a URL, the flags named in the errors.</summary>
    public static IRagStore Open(string? dir, string? url, string dirFlag, string urlFlag, bool create = false)
    {
        if (dir is not null && url is not null) throw new UserError($"pass {dirFlag} DIR or {urlFlag} URL, not both");
        if (url is not null) return PostgresStore.IsUrl(url) ? PostgresStore.Open(url) : throw new UserError($"{urlFlag} {url}: expected a postgres:// URL (for a directory use {dirFlag})");
        if (dir is null) throw new UserError($"pass {dirFlag} DIR (an embedded index) or {urlFlag} postgres://… (PostgreSQL)");
        if (!create && !File.Exists(Path.Combine(dir, RagIndex.FileName)))
            throw new UserError($"{dir}: no index (gensharp rag ingest PATH --index {dir} makes one)");
        return RagIndex.Open(dir);
    }
}
