using GenSharp.Data;
using GenSharp.Rag.Index;

namespace GenSharp.Rag.Retrieval;

/// <summary>
/// Hard negatives for training a retrieval encoder (DPR, Karpukhin et al. 2020: "the top passage returned by BM25 that does
/// not contain the answer"): for each chunk, its longest sentence is a full-text query, and the best hit from another file
/// whose text differs is the negative. Chunks of the same file are never negatives of each other, since a search finds
/// documents and any of a file's chunks leads to it.
/// </summary>
public static class HardNegatives
{
    const int QueryWords = 32, Depth = 10;

    /// <summary>For each of <paramref name="passages"/> (as <see cref="IRagStore.Passages"/> lists them), the row ids of its negatives (zero or one).</summary>
    public static string[][] Mine(IRagStore store, IReadOnlyList<(long RowId, string Source, string Text)> passages, string collection, string tenant,
        Action<int, int>? progress = null)
    {
        var rows = new Dictionary<(string Source, string Text), long>();
        foreach (var p in passages) rows.TryAdd((p.Source, p.Text), p.RowId);
        var mined = new string[passages.Count][];
        for (int i = 0; i < passages.Count; i++)
        {
            var (_, source, text) = passages[i];
            var query = PassageDataset.Sentences(text).Select(s => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                .MaxBy(w => w.Length) is { } words ? string.Join(' ', words.Take(QueryWords)) : "";
            var hits = query.Length == 0 ? [] : store.Search(query, Depth, collection, tenant);
            mined[i] = [.. hits.Select(h => (h.Source, Text: RagIndex.EmbeddingText(h.Heading, h.Text)))
                .Where(h => h.Source != source && h.Text != text && rows.ContainsKey(h)).Take(1).Select(h => rows[h].ToString())];
            if (i % 256 == 0 || i == passages.Count - 1) progress?.Invoke(i + 1, passages.Count);
        }
        return mined;
    }
}
