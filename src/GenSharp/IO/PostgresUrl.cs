using System.Text.RegularExpressions;

namespace GenSharp.IO;

/// <summary>
/// A PostgreSQL URL, <c>postgres://user[:password]@host[:port]/database[?schema=name]</c>, as the stores that can live in
/// PostgreSQL take it (retrieval index, feedback). The password may also come from PGPASSWORD; <see cref="Display"/> never
/// shows it.
/// </summary>
public sealed partial record PostgresUrl(string Host, int Port, string Database, string User, string? Password, string Schema)
{
    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")] private static partial Regex Identifier();

    /// <summary>True for postgres:// and postgresql:// URLs.</summary>
    public static bool Is(string location) =>
        location.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    public static PostgresUrl Parse(string url)
    {
        if (!Is(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            throw new ArgumentException($"{url}: not a PostgreSQL URL (postgres://user@host:port/database)");
        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (database.Length == 0) throw new ArgumentException($"{url}: the URL names no database (postgres://user@host:port/DATABASE)");
        var user = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
        string schema = "public";
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            if (kv[0] != "schema" || kv.Length != 2) throw new ArgumentException($"{url}: unknown URL parameter '{kv[0]}' (only schema=NAME)");
            schema = Uri.UnescapeDataString(kv[1]);
        }
        if (!Identifier().IsMatch(schema)) throw new ArgumentException($"{url}: schema '{schema}' must be lower-case letters, digits and _");
        return new PostgresUrl(uri.Host, uri.Port > 0 ? uri.Port : 5432, database, user[0].Length > 0 ? user[0] : Environment.UserName,
            user.Length > 1 ? user[1] : Environment.GetEnvironmentVariable("PGPASSWORD"), schema);
    }

    /// <summary>The URL without its password, for messages.</summary>
    public string Display => $"postgres://{User}@{Host}:{Port}/{Database}{(Schema == "public" ? "" : $"?schema={Schema}")}";
}
