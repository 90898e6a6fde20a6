using System.Text.RegularExpressions;
using GenSharp.Rag.Index;

namespace GenSharp.Rag.Answering;

/// <summary>
/// An answer for models too small to write one: the sentences of the given sources that share the most of the
/// question's words (weighted by how rare each word is among those sentences, normalised by sentence length), in source
/// order, each cited with its source's number (a sentence that several sources share is said once, citing them all).
/// Every citation is valid by construction.
/// </summary>
public static partial class ExtractiveAnswerer
{
    public static string Answer(string question, IReadOnlyList<SearchHit> given, int maxSentences = 3)
    {
        var terms = RagIndex.Terms(question).Select(Stem).ToHashSet();
        var sentences = given.SelectMany((hit, i) => Sentence().Split(hit.Text).Select(s => s.Trim()).Where(s => s.Length > 0)
            .Select((s, j) => (Source: i + 1, Order: j, Text: s, Words: Words(s)))).ToList();
        if (terms.Count == 0 || sentences.Count == 0) return "";
        var df = terms.ToDictionary(t => t, t => sentences.Count(s => s.Words.Contains(t)));
        double Score((int Source, int Order, string Text, HashSet<string> Words) s) =>
            terms.Where(s.Words.Contains).Sum(t => Math.Log(1 + sentences.Count / (double)df[t])) / Math.Sqrt(Math.Max(4, s.Words.Count));
        // A sentence found in several sources (copies of one page) is said once and cites them all.
        var best = sentences.GroupBy(s => s.Text).Select(g => (First: g.First(), Sources: g.Select(s => s.Source).Distinct().ToList(), Score: Score(g.First())))
            .Where(x => x.Score > 0).OrderByDescending(x => x.Score).Take(maxSentences)
            .OrderBy(x => x.First.Source).ThenBy(x => x.First.Order);
        return string.Join(" ", best.Select(x => $"{x.First.Text} [{string.Join(", ", x.Sources)}]"));
    }

    static HashSet<string> Words(string s) => [.. Regex.Matches(s.ToLowerInvariant(), @"[\p{L}\p{N}]+").Select(m => Stem(m.Value))];

    // Enough stemming to meet "directories" with "directory" and "lists" with "list".
    static string Stem(string w) =>
        w.Length > 4 && w.EndsWith("ies") ? w[..^3] + "y" : w.Length > 3 && w.EndsWith('s') && !w.EndsWith("ss") ? w[..^1] : w;

    [GeneratedRegex(@"(?<=[.!?])\s+|\n{2,}")]
    private static partial Regex Sentence();
}
