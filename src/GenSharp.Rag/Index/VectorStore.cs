using System.Runtime.InteropServices;
using GenSharp.Rag.Vectors;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;

namespace GenSharp.Rag.Index;

/// <summary>
/// The dense half of the embedded index, in the same SQLite file: one float32 vector per chunk (deleted with its chunk), the
/// embedder that made them (so a query is never embedded by another model), and, once a collection outgrows exact search,
/// IVF centroids with each vector's list. Search loads a collection and tenant's vectors once (only that tenant's rows) and
/// keeps them until the file changes.
/// </summary>
public sealed class VectorStore
{
    internal const string Schema = """
        CREATE TABLE vectors (chunk INTEGER PRIMARY KEY REFERENCES chunks(rowid) ON DELETE CASCADE, list INTEGER NOT NULL, vector BLOB NOT NULL);
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE centroids (list INTEGER PRIMARY KEY, vector BLOB NOT NULL);
        """;
    const int EmbedBatch = 256;

    readonly RagIndex _index;
    readonly Dictionary<(string, string), (long Version, VectorSet Set)> _cache = [];
    (long Version, IvfIndex? Ivf)? _ivf;

    internal VectorStore(RagIndex index) => _index = index;

    /// <summary>The embedder the vectors were made with (its id and dimensions), or null before the first <see cref="Embed"/>.</summary>
    public (string Id, int Dims)? Embedder => EmbedderIn(null);

    (string Id, int Dims)? EmbedderIn(SqliteTransaction? tx) =>
        Setting("embedder", tx) is { } id && Setting("dims", tx) is { } dims ? (id, int.Parse(dims)) : null;

    /// <summary>How many chunks have a vector, and how many of those are in IVF lists.</summary>
    public (long Vectors, int Lists) Count() => CountIn(null);

    (long Vectors, int Lists) CountIn(SqliteTransaction? tx) =>
        (Convert.ToInt64(_index.Scalar("SELECT count(*) FROM vectors", tx)), Convert.ToInt32(_index.Scalar("SELECT count(*) FROM centroids", tx)));

    /// <summary>Vectors from which <see cref="EmbedAll"/> builds an IVF index unless told otherwise (exact search takes a few ms below it).</summary>
    public const int AnnThreshold = 50_000;

    /// <summary>
    /// Embeds every chunk that has no vector, in one transaction, then builds the IVF index: with <paramref name="ivfLists"/>
    /// lists when given (0: none), else 4√n lists once the index holds <see cref="AnnThreshold"/> vectors, else as it was.
    /// Returns the chunks embedded and the lists built (0 when none were rebuilt).
    /// </summary>
    public (int Embedded, int Lists) EmbedAll(Retrieval.IndexEmbedder embedder, int? ivfLists = null, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        using var tx = _index.Begin();
        int embedded = Embed(embedder.Generator, embedder.Id, tx, progress, cancel);
        var (vectors, old) = CountIn(tx);
        int want = ivfLists ?? (vectors >= AnnThreshold ? IvfIndex.DefaultLists(vectors) : old);
        int built = 0;
        if (want == 0 && old > 0) _index.Execute("DELETE FROM centroids; UPDATE vectors SET list = 0;", tx);
        else if (want > 0 && vectors > 0 && (embedded > 0 || want != old || ivfLists is not null)) built = BuildIvf(want, tx).Lists;
        tx.Commit();
        return (embedded, built);
    }

    /// <summary>
    /// Embeds every chunk that has no vector with <paramref name="embedder"/> (named <paramref name="embedderId"/>) inside
    /// <paramref name="tx"/>. A different embedder than the index's drops every vector first (they would not be comparable).
    /// Returns how many chunks were embedded.
    /// </summary>
    internal int Embed(IEmbeddingGenerator<string, Embedding<float>> embedder, string embedderId, SqliteTransaction tx,
        Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        if (EmbedderIn(tx) is { } current && current.Id != embedderId)
        {
            _index.Execute("DELETE FROM vectors; DELETE FROM centroids;", tx);
            SetSetting("dims", null, tx);
        }
        SetSetting("embedder", embedderId, tx);
        var missing = new List<(long RowId, string Text)>();
        using (var cmd = _index.Command("SELECT c.rowid, c.heading, c.text FROM chunks c LEFT JOIN vectors v ON v.chunk = c.rowid WHERE v.chunk IS NULL", tx))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) missing.Add((r.GetInt64(0), RagIndex.EmbeddingText(r.GetString(1), r.GetString(2))));
        var ivf = Ivf(tx);
        using var insert = _index.Command("INSERT INTO vectors (chunk, list, vector) VALUES ($c, $l, $v)", tx, ("$c", 0L), ("$l", 0), ("$v", Array.Empty<byte>()));
        for (int start = 0; start < missing.Count; start += EmbedBatch)
        {
            cancel.ThrowIfCancellationRequested();
            var batch = missing.Skip(start).Take(EmbedBatch).ToList();
            var vectors = embedder.GenerateAsync(batch.Select(b => b.Text), cancellationToken: cancel).GetAwaiter().GetResult();
            if (vectors.Count != batch.Count) throw new InvalidOperationException($"the embedder returned {vectors.Count} vectors for {batch.Count} texts");
            int dims = vectors[0].Vector.Length;
            if (EmbedderIn(tx) is { Dims: var d } && d != dims) throw new InvalidOperationException($"the embedder returned {dims} dimensions; the index holds {d}");
            SetSetting("dims", dims.ToString(), tx);
            var flat = vectors.SelectMany(v => VectorMath.Unit(v.Vector.ToArray())).ToArray();   // an endpoint's vectors may not be unit length
            var lists = ivf?.Assign(flat);
            for (int i = 0; i < batch.Count; i++)
            {
                insert.Parameters["$c"].Value = batch[i].RowId;
                insert.Parameters["$l"].Value = lists?[i] ?? 0;
                insert.Parameters["$v"].Value = MemoryMarshal.AsBytes(flat.AsSpan(i * dims, dims)).ToArray();
                insert.ExecuteNonQuery();
            }
            progress?.Invoke(Math.Min(start + EmbedBatch, missing.Count), missing.Count);
        }
        return missing.Count;
    }

    /// <summary>Trains IVF centroids on every vector (<paramref name="lists"/> of them; 0 = <see cref="IvfIndex.DefaultLists"/>) and assigns each vector its list.</summary>
    internal IvfIndex BuildIvf(int lists, SqliteTransaction tx, long seed = 1337)
    {
        var (ids, data, dims, _) = Read(null, null, tx);
        if (ids.Length == 0) throw new InvalidOperationException("the index holds no vectors to build an IVF index from (embed first)");
        var ivf = IvfIndex.Train(data, dims, lists > 0 ? lists : IvfIndex.DefaultLists(ids.Length), seed);
        _index.Execute("DELETE FROM centroids", tx);
        using (var put = _index.Command("INSERT INTO centroids (list, vector) VALUES ($l, $v)", tx, ("$l", 0), ("$v", Array.Empty<byte>())))
            for (int l = 0; l < ivf.Lists; l++)
            {
                put.Parameters["$l"].Value = l;
                put.Parameters["$v"].Value = MemoryMarshal.AsBytes(ivf.Centroids.AsSpan(l * dims, dims)).ToArray();
                put.ExecuteNonQuery();
            }
        var assign = ivf.Assign(data);
        using var update = _index.Command("UPDATE vectors SET list = $l WHERE chunk = $c", tx, ("$l", 0), ("$c", 0L));
        for (int i = 0; i < ids.Length; i++)
        {
            update.Parameters["$l"].Value = assign[i];
            update.Parameters["$c"].Value = ids[i];
            update.ExecuteNonQuery();
        }
        return ivf;
    }

    /// <summary>
    /// The <paramref name="k"/> chunks (row ids) of one collection and tenant nearest <paramref name="query"/> by cosine:
    /// exact, or over the <paramref name="nprobe"/> nearest IVF lists when the index has them and nprobe &gt; 0.
    /// </summary>
    public List<(long RowId, float Score)> Search(float[] query, int k, string collection, string tenant, int nprobe = 0)
    {
        var set = Load(collection, tenant);
        if (set.Count == 0) return [];
        query = VectorMath.Unit((float[])query.Clone());
        return nprobe > 0 && Ivf(null) is { } ivf ? set.Lists(query, k, ivf.Probe(query, nprobe)) : set.Exact(query, k);
    }

    VectorSet Load(string collection, string tenant)
    {
        long version = _index.DataVersion();
        if (_cache.TryGetValue((collection, tenant), out var cached) && cached.Version == version) return cached.Set;
        var (ids, data, dims, lists) = Read(collection, tenant, null);
        int listCount = CountIn(null).Lists;
        var starts = new int[Math.Max(1, listCount) + 1];
        foreach (var l in lists) starts[l + 1]++;
        for (int l = 1; l < starts.Length; l++) starts[l] += starts[l - 1];
        var set = new VectorSet(ids, data, dims, starts);
        _cache[(collection, tenant)] = (version, set);
        return set;
    }

    // Rows ordered by list, so each list is one range; the tenant filter is part of the query.
    (long[] Ids, float[] Data, int Dims, int[] Lists) Read(string? collection, string? tenant, SqliteTransaction? tx)
    {
        int dims = EmbedderIn(tx)?.Dims ?? 0;
        using var cmd = collection is null
            ? _index.Command("SELECT chunk, list, vector FROM vectors ORDER BY list, chunk", tx)
            : _index.Command("""
                SELECT v.chunk, v.list, v.vector FROM vectors v JOIN chunks c ON c.rowid = v.chunk JOIN files f ON f.id = c.file_id
                WHERE f.collection = $c AND f.tenant = $t ORDER BY v.list, v.chunk
                """, tx, ("$c", collection), ("$t", tenant ?? ""));
        var ids = new List<long>();
        var lists = new List<int>();
        var data = new List<float>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var blob = (byte[])r.GetValue(2);
            if (blob.Length != dims * sizeof(float)) throw new InvalidDataException($"{_index.Path}: the vector of chunk {r.GetInt64(0)} has {blob.Length} bytes, not {dims} floats");
            ids.Add(r.GetInt64(0));
            lists.Add(r.GetInt32(1));
            data.AddRange(MemoryMarshal.Cast<byte, float>(blob));
        }
        return ([.. ids], [.. data], dims, [.. lists]);
    }

    IvfIndex? Ivf(SqliteTransaction? tx)
    {
        long version = tx is null ? _index.DataVersion() : -1;
        if (tx is null && _ivf is { } cached && cached.Version == version) return cached.Ivf;
        var centroids = new List<float>();
        int dims = EmbedderIn(tx)?.Dims ?? 0;
        using (var cmd = _index.Command("SELECT vector FROM centroids ORDER BY list", tx))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) centroids.AddRange(MemoryMarshal.Cast<byte, float>((byte[])r.GetValue(0)));
        var ivf = centroids.Count > 0 && dims > 0 ? new IvfIndex([.. centroids], dims) : null;
        if (tx is null) _ivf = (version, ivf);
        return ivf;
    }

    string? Setting(string key, SqliteTransaction? tx) => _index.Scalar("SELECT value FROM settings WHERE key = $k", tx, ("$k", key)) as string;

    void SetSetting(string key, string? value, SqliteTransaction tx)
    {
        if (value is null) _index.Execute("DELETE FROM settings WHERE key = $k", tx, ("$k", key));
        else _index.Execute("INSERT INTO settings (key, value) VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value", tx, ("$k", key), ("$v", value));
    }
}
