using System.Text.Json;
using System.Text.RegularExpressions;
using GenSharp.Numerics;

namespace GenSharp.Data;

/// <summary>
/// Passages for training a retriever without labels, by the inverse cloze task (ICT, Lee et al. 2019): a sentence drawn
/// from a passage is the query, the passage is its positive, and the sentence is removed from the passage 90 % of the time
/// so the encoder learns context, not string overlap. A passage without two sentences is cut into runs of 12 words.
/// Passages come from JSONL (<c>{"text": …}</c> per line, optionally <c>"id"</c> and <c>"negatives": [ids]</c>: hard negatives,
/// passages that look alike but answer something else, such as BM25's best hit from another document); a stable hash of
/// each text holds out the eval fraction of them, so the split survives adding passages. A negative that is held out or
/// skipped is dropped, so held-out passages stay unseen.
/// </summary>
public sealed partial class PassageDataset
{
    public const double MaskRate = 0.9;
    const int MinQueryWords = 4, MaxQueryWords = 64;

    PassageDataset(string path, List<string[]> train, List<int[]> negatives, List<string[]> eval, int skipped) =>
        (Path, Train, Negatives, Eval, Skipped) = (path, train, negatives, eval, skipped);

    public string Path { get; }
    /// <summary>Passages as sentences.</summary>
    public IReadOnlyList<string[]> Train { get; }
    /// <summary>Each training passage's hard negatives, as indices into <see cref="Train"/> (mostly empty).</summary>
    public IReadOnlyList<int[]> Negatives { get; }
    public IReadOnlyList<string[]> Eval { get; }
    /// <summary>Lines without a usable passage (under 16 words, or no sentence of four: nothing to ask).</summary>
    public int Skipped { get; }

    [GeneratedRegex(@"(?<=[.!?;:])\s+|\n\s*\n|\n(?=\s*[-•*]\s)")] private static partial Regex SentenceBreak();
    [GeneratedRegex(@"[\p{L}\p{N}]+")] private static partial Regex Word();

    /// <summary>Reads JSONL passages; errors name the file and line.</summary>
    public static PassageDataset Load(string path, double evalFraction)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found");
        if (evalFraction is < 0 or >= 1) throw new ArgumentException($"the eval fraction must be in [0, 1) (got {evalFraction})");
        var train = new List<string[]>();
        var eval = new List<string[]>();
        var ids = new Dictionary<string, int>();   // id → training index, or −1 when held out or skipped
        var wanted = new List<(string[] Ids, int Line)>();
        int line = 0, skipped = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(raw)) continue;
            string text;
            string? id = null;
            string[] negatives = [];
            try
            {
                using var doc = JsonDocument.Parse(raw);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{path}:{line}: expected an object with a string \"text\"");
                text = t.GetString()!;
                if (root.TryGetProperty("id", out var i))
                    id = i.ValueKind == JsonValueKind.String ? i.GetString() : throw new InvalidDataException($"{path}:{line}: \"id\" must be a string");
                if (root.TryGetProperty("negatives", out var n))
                    negatives = n.ValueKind == JsonValueKind.Array && n.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String)
                        ? [.. n.EnumerateArray().Select(x => x.GetString()!)]
                        : throw new InvalidDataException($"{path}:{line}: \"negatives\" must be an array of passage ids");
            }
            catch (JsonException e) { throw new InvalidDataException($"{path}:{line}: not valid JSON ({e.Message})"); }
            var sentences = Sentences(text);
            if (sentences.Length < 2 || sentences.Count(s => Words(s) >= MinQueryWords) == 0) sentences = Windows(text);   // a list or one long line
            if (sentences.Length < 2)
            {
                if (id is not null && !ids.TryAdd(id, -1)) throw new InvalidDataException($"{path}:{line}: id \"{id}\" appears twice");
                skipped++;
                continue;
            }
            bool held = SplitMix64.Hash(Fnv(text)) % 10_000 < (ulong)(evalFraction * 10_000);
            if (id is not null && !ids.TryAdd(id, held ? -1 : train.Count)) throw new InvalidDataException($"{path}:{line}: id \"{id}\" appears twice");
            if (!held) wanted.Add((negatives, line));
            (held ? eval : train).Add(sentences);
        }
        if (train.Count < 2) throw new InvalidDataException($"{path}: {train.Count} usable training passages; at least 2 are needed (each needs two sentences)");
        var resolved = wanted.Select((w, self) => w.Ids.Select(n => ids.TryGetValue(n, out int j) ? j
                : throw new InvalidDataException($"{path}:{w.Line}: negative \"{n}\" is not the id of a usable passage")).Where(j => j >= 0 && j != self).Distinct().ToArray()).ToList();
        return new PassageDataset(path, train, resolved, eval, skipped);
    }

    /// <summary>A text's sentences (also split at blank lines and list items), trimmed, empty ones dropped.</summary>
    public static string[] Sentences(string text) =>
        [.. SentenceBreak().Split(text).Select(s => s.Trim()).Where(s => s.Length > 0)];

    static int Words(string s) => Word().Count(s);

    // A passage without two usable sentences (a synopsis, a table, one long line) as runs of 12 words, so it still
    // trains the encoder; fewer than 16 words leave nothing to ask.
    static string[] Windows(string text)
    {
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (Word().Count(text) < 16) return [];
        return [.. words.Chunk(12).Select(w => string.Join(' ', w)).Where(w => Words(w) > 0)];
    }

    /// <summary>
    /// Batch <paramref name="step"/>: <paramref name="size"/> distinct training passages, a query for each, and one of its
    /// hard negatives when it has any (else null); a function of seed and step. With <paramref name="queryWords"/> &gt; 0
    /// the query is a random span of 3 to that many words of the sentence (random cropping, as Contriever trains: queries
    /// as short as people type); 0 keeps the whole sentence.
    /// </summary>
    public List<(string Query, string Passage, string? Negative)> Draw(int size, long seed, long step, int queryWords = 0)
    {
        size = Math.Min(size, Train.Count);
        var picked = new HashSet<int>();
        var batch = new List<(string, string, string?)>(size);
        for (ulong i = 0; batch.Count < size; i++)
        {
            int index = (int)(SplitMix64.Hash((ulong)seed, (ulong)step, i, 0x1C7UL) % (ulong)Train.Count);
            if (!picked.Add(index)) continue;
            var (query, passage) = Pair(Train[index], SplitMix64.Hash((ulong)seed, (ulong)step, i, 0x5E1UL), queryWords);
            var negatives = Negatives[index];
            string? negative = negatives.Length == 0 ? null
                : string.Join(' ', Train[negatives[(int)(SplitMix64.Hash((ulong)seed, (ulong)step, i, 0x4E6UL) % (ulong)negatives.Length)]]);
            batch.Add((query, passage, negative));
        }
        return batch;
    }

    /// <summary>One fixed query per held-out passage (up to <paramref name="max"/>), for evaluation.</summary>
    public List<(string Query, string Passage)> EvalPairs(int max, long seed) =>
        [.. Eval.Take(max).Select((p, i) => Pair(p, SplitMix64.Hash((ulong)seed, (ulong)i, 0xE7UL)))];

    // The query is a sentence of 4–64 words, or a random span of 3…queryWords of its words; the passage is the rest, or (10 %)
    // the whole passage.
    static (string Query, string Passage) Pair(string[] sentences, ulong random, int queryWords = 0)
    {
        var candidates = Enumerable.Range(0, sentences.Length).Where(i => Words(sentences[i]) >= MinQueryWords).ToArray();
        int q = candidates[(int)(random % (ulong)candidates.Length)];
        var words = Word().Matches(sentences[q]).Select(m => m.Value).ToArray();
        var query = string.Join(' ', words.Take(MaxQueryWords));
        if (queryWords > 0)
        {
            int length = Math.Min(words.Length, 3 + (int)(SplitMix64.Hash(random, 0xC20UL) % (ulong)Math.Max(1, queryWords - 2)));
            int start = (int)(SplitMix64.Hash(random, 0xC21UL) % (ulong)(words.Length - length + 1));
            query = string.Join(' ', words.Skip(start).Take(length));
        }
        bool mask = (SplitMix64.Mix(random) % 1000) < MaskRate * 1000;
        var passage = string.Join(' ', sentences.Where((_, i) => !mask || i != q));
        return (query, passage);
    }

    static ulong Fnv(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return h;
    }
}
