using Microsoft.Data.Sqlite;

namespace GenSharp.Rag.Index;

/// <summary>
/// The FTS5 index's postings held in memory, to rank by BM25 exactly as FTS5's bm25() does but in milliseconds: FTS5
/// calls its ranking function once per matching row through the auxiliary-function interface (30–80 ms per query at
/// 100k chunks); here a query adds idf · tf(k1 + 1) / (tf + k1(1 − b + b·D/avgdl)) over each of its terms' postings into
/// one array (Robertson &amp; Zaragoza 2009, with FTS5's choices: k1 1.2, b 0.75, idf = ln((N − n + 0.5) / (n + 0.5)) and
/// 1e-6 where that is ≤ 0; N, n and avgdl over the whole table; D and tf over both columns, text and heading).
/// Built from fts5vocab's views of chunks_fts, so the terms are FTS5's own (unicode61 + Porter) and no tokenizer is
/// written twice; the query's words become terms through the same tokenizer in a temporary FTS5 table.
/// </summary>
internal sealed class Bm25Postings : IDisposable
{
    const double K1 = 1.2, B = 0.75;
    readonly Dictionary<string, int> _terms;
    readonly int[][] _docs, _freqs;                  // per term: documents (ascending) and occurrences in each
    readonly long[] _rowIds;                         // document → chunk rowid
    readonly int[] _lengths, _scope;                 // document → tokens (both columns), its (collection, tenant)
    readonly Dictionary<(string, string), int> _scopes;
    readonly double _avgdl;

    Bm25Postings(Dictionary<string, int> terms, int[][] docs, int[][] freqs, long[] rowIds, int[] lengths, int[] scope, Dictionary<(string, string), int> scopes)
    {
        (_terms, _docs, _freqs, _rowIds, _lengths, _scope, _scopes) = (terms, docs, freqs, rowIds, lengths, scope, scopes);
        _avgdl = (double)lengths.Sum(l => (long)l) / Math.Max(1, rowIds.Length);
    }

    SqliteConnection? _tokenizer;   // its own in-memory database: writes there leave the index's change counters alone

    public int Documents => _rowIds.Length;
    public long Postings => _docs.Sum(d => (long)d.Length);

    /// <summary>Reads every posting of chunks_fts (one pass over fts5vocab's 'instance' view, ordered by term, then row) in <paramref name="tx"/>.</summary>
    public static Bm25Postings Build(RagIndex index, SqliteTransaction tx)
    {
        index.Execute("""
            CREATE VIRTUAL TABLE IF NOT EXISTS temp.gensharp_fts_rows USING fts5vocab(main, chunks_fts, row);
            CREATE VIRTUAL TABLE IF NOT EXISTS temp.gensharp_fts_instances USING fts5vocab(main, chunks_fts, instance);
            """, tx);
        var rows = new Dictionary<long, int>();
        var rowIds = new List<long>();
        var scope = new List<int>();
        var scopes = new Dictionary<(string, string), int>();
        using (var cmd = index.Command("SELECT c.rowid, f.collection, f.tenant FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY c.rowid", tx))
        using (var r = cmd.ExecuteReader())
            while (r.Read())
            {
                var key = (r.GetString(1), r.GetString(2));
                if (!scopes.TryGetValue(key, out int s)) scopes[key] = s = scopes.Count;
                rows[r.GetInt64(0)] = rowIds.Count;
                rowIds.Add(r.GetInt64(0));
                scope.Add(s);
            }
        var terms = new List<(string Term, int Docs, long Count)>();
        using (var cmd = index.Command("SELECT term, doc, cnt FROM temp.gensharp_fts_rows", tx))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) terms.Add((r.GetString(0), r.GetInt32(1), r.GetInt64(2)));
        var lengths = new int[rowIds.Count];
        var docs = new int[terms.Count][];
        var freqs = new int[terms.Count][];
        // The instances come term by term in the same order as the rows view: each term's cnt rows, row ids ascending.
        using (var cmd = index.Command("SELECT term, doc FROM temp.gensharp_fts_instances", tx))
        using (var r = cmd.ExecuteReader())
            for (int t = 0; t < terms.Count; t++)
            {
                var (term, docCount, count) = terms[t];
                var (d, f) = (new int[docCount], new int[docCount]);
                int n = -1;
                long previous = -1;
                for (long i = 0; i < count; i++)
                {
                    if (!r.Read() || (i == 0 && r.GetString(0) != term))
                        throw new InvalidDataException($"{index.Path}: the full-text index changed while it was read (term '{term}'); search again");
                    long row = r.GetInt64(1);
                    if (!rows.TryGetValue(row, out int doc)) throw new InvalidDataException($"{index.Path}: the full-text index names row {row}, which has no chunk; rebuild it");
                    if (row != previous) { d[++n] = doc; previous = row; }
                    f[n]++;
                    lengths[doc]++;
                }
                if (n + 1 != docCount) throw new InvalidDataException($"{index.Path}: term '{term}' is in {n + 1} rows, not {docCount}; search again");
                (docs[t], freqs[t]) = (d, f);
            }
        var termIds = new Dictionary<string, int>(terms.Count, StringComparer.Ordinal);
        for (int t = 0; t < terms.Count; t++) termIds[terms[t].Term] = t;
        return new Bm25Postings(termIds, docs, freqs, [.. rowIds], lengths, [.. scope], scopes);
    }

    /// <summary>
    /// Each word as the one term FTS5 indexes it under (case folded, diacritics removed, Porter-stemmed), or null when a
    /// word is not exactly one token (FTS5 would read it as a phrase of several).
    /// </summary>
    public List<string>? Terms(IReadOnlyList<string> words)
    {
        if (_tokenizer is null)
        {
            _tokenizer = new SqliteConnection("Data Source=:memory:");
            _tokenizer.Open();
            Run($"CREATE VIRTUAL TABLE q USING fts5(t, tokenize='{RagIndex.Tokenizer}'); CREATE VIRTUAL TABLE q_terms USING fts5vocab(q, instance);");
        }
        Run("DELETE FROM q");
        using (var insert = _tokenizer.CreateCommand())
        {
            insert.CommandText = "INSERT INTO q (rowid, t) VALUES ($i, $w)";
            var (i, w) = (insert.Parameters.Add("$i", SqliteType.Integer), insert.Parameters.Add("$w", SqliteType.Text));
            for (int n = 0; n < words.Count; n++)
            {
                (i.Value, w.Value) = (n, words[n]);
                insert.ExecuteNonQuery();
            }
        }
        var terms = new string?[words.Count];
        using var cmd = _tokenizer.CreateCommand();
        cmd.CommandText = "SELECT doc, term FROM q_terms";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            int n = r.GetInt32(0);
            if (terms[n] is not null) return null;
            terms[n] = r.GetString(1);
        }
        return terms.Any(t => t is null) ? null : [.. terms.Select(t => t!)];
    }

    void Run(string sql)
    {
        using var cmd = _tokenizer!.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose() => _tokenizer?.Dispose();

    /// <summary>
    /// The k best chunks (row ids, BM25 score) of one collection and tenant for a query whose phrases are these terms, in
    /// order (a term given twice counts twice, as a phrase repeated in an FTS5 query does). Ties go to the lower row id.
    /// </summary>
    public List<(long RowId, double Score)> Search(IReadOnlyList<string> phraseTerms, int k, string collection, string tenant)
    {
        if (!_scopes.TryGetValue((collection, tenant), out int wanted)) return [];
        var scores = new double[_rowIds.Length];
        var touched = new List<int>();
        double n = _rowIds.Length;
        foreach (var term in phraseTerms)
        {
            if (!_terms.TryGetValue(term, out int t)) continue;
            var (docs, freqs) = (_docs[t], _freqs[t]);
            double idf = Math.Log((n - docs.Length + 0.5) / (docs.Length + 0.5));
            if (idf <= 0) idf = 1e-6;
            for (int i = 0; i < docs.Length; i++)
            {
                int d = docs[i];
                if (_scope[d] != wanted) continue;
                double f = freqs[i];
                if (scores[d] == 0) touched.Add(d);
                scores[d] += idf * (f * (K1 + 1.0) / (f + K1 * (1 - B + B * _lengths[d] / _avgdl)));
            }
        }
        var heap = new PriorityQueue<int, (double Score, long NegRow)>(k + 1);   // the worst kept on top
        foreach (int d in touched)
        {
            var key = (scores[d], -_rowIds[d]);
            if (heap.Count < k) heap.Enqueue(d, key);
            else if (heap.TryPeek(out _, out var worst) && key.CompareTo(worst) > 0) heap.EnqueueDequeue(d, key);
        }
        var best = new List<(long, double)>(heap.Count);
        while (heap.TryDequeue(out int d, out var key)) best.Add((_rowIds[d], key.Score));
        best.Reverse();
        return best;
    }
}
