using System.Diagnostics;
using System.Text.Json;
using GenSharp.Rag.Index;

namespace GenSharp.Rag.Evaluation;

/// <summary>Scores a retriever on queries with known relevant sources (see <see cref="RetrievalReport"/>).</summary>
public static class RetrievalEvaluator
{
    /// <summary>
    /// Runs every query through <paramref name="search"/> (query, chunks wanted) → ranked chunks; chunks are folded into
    /// distinct sources in rank order before scoring.
    /// </summary>
    public static RetrievalReport Evaluate(string method, IReadOnlyList<RetrievalQuery> queries, Func<string, int, IReadOnlyList<SearchHit>> search, int k = 10)
    {
        if (queries.Count == 0) throw new ArgumentException("no queries to evaluate");
        if (k < 1) throw new ArgumentException($"k must be at least 1 (got {k})");
        double r1 = 0, rk = 0, mrr = 0, ndcg = 0;
        var ms = new List<double>(queries.Count);
        foreach (var q in queries)
        {
            var sw = Stopwatch.StartNew();
            var hits = search(q.Query, Math.Max(k, 10) * 5);
            ms.Add(sw.Elapsed.TotalMilliseconds);
            var sources = hits.Select(h => h.Source).Distinct().Take(Math.Max(k, 10)).ToList();
            int first = sources.FindIndex(q.Relevant.Contains);
            if (first == 0) r1++;
            if (first >= 0 && first < k) { rk++; mrr += 1.0 / (first + 1); }
            double dcg = sources.Take(10).Select((s, i) => q.Relevant.Contains(s) ? 1 / Math.Log2(i + 2) : 0).Sum();
            double ideal = Enumerable.Range(0, Math.Min(10, q.Relevant.Count)).Sum(i => 1 / Math.Log2(i + 2));
            ndcg += dcg / ideal;
        }
        ms.Sort();
        int n = queries.Count;
        return new RetrievalReport(method, n, k, r1 / n, rk / n, mrr / n, ndcg / n, Percentile(ms, 0.5), Percentile(ms, 0.95));
    }

    static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>Reads JSONL rows <c>{"query": "…", "relevant": ["path", …]}</c>; a bad row is an error naming the file and line.</summary>
    public static List<RetrievalQuery> ReadQueries(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such queries file", path);
        var queries = new List<RetrievalQuery>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("query", out var q) || q.ValueKind != JsonValueKind.String || q.GetString()!.Trim().Length == 0)
                    throw new InvalidDataException("expected an object with a non-empty string 'query'");
                if (!root.TryGetProperty("relevant", out var rel) || rel.ValueKind != JsonValueKind.Array || rel.GetArrayLength() == 0
                    || rel.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
                    throw new InvalidDataException("'relevant' must be a non-empty array of source paths");
                queries.Add(new RetrievalQuery(q.GetString()!, rel.EnumerateArray().Select(r => r.GetString()!).ToHashSet(StringComparer.Ordinal)));
            }
            catch (JsonException e) { throw new InvalidDataException($"{path}:{line}: not JSON ({e.Message})"); }
            catch (InvalidDataException e) { throw new InvalidDataException($"{path}:{line}: {e.Message}"); }
        }
        return queries.Count > 0 ? queries : throw new InvalidDataException($"{path}: no queries");
    }
}
