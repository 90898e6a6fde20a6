using System.Text.RegularExpressions;

namespace GenSharp.Tokenizers;

/// <summary>
/// Text → hashed feature ids, fastText's input (Joulin et al. 2017; character n-grams from Bojanowski et al. 2017): the
/// lowercased words, the word bigrams, and the character n-grams of each word written as <c>&lt;word&gt;</c>, each hashed
/// (FNV-1a, 32-bit, one seed per feature type) into buckets 1…B−1. Bucket 0 is never produced. No vocabulary to store: the
/// same text gives the same ids on every machine, and words never seen in training still get their character n-grams.
/// </summary>
public sealed partial class FeatureHasher
{
    readonly int _buckets, _wordNgrams, _minChar, _maxChar, _maxWords;

    /// <param name="buckets">Hash buckets (the embedding table's rows).</param>
    /// <param name="wordNgrams">1: words only; 2: words and bigrams.</param>
    /// <param name="minChar">Shortest character n-gram (0: none).</param>
    /// <param name="maxChar">Longest character n-gram.</param>
    /// <param name="maxWords">Words read from a text; the rest is ignored, so one text's cost is bounded.</param>
    public FeatureHasher(int buckets, int wordNgrams, int minChar, int maxChar, int maxWords)
    {
        if (buckets < 2) throw new ArgumentException($"buckets must be at least 2 (got {buckets})");
        if (wordNgrams is < 1 or > 2) throw new ArgumentException($"word n-grams must be 1 or 2 (got {wordNgrams})");
        if (minChar < 0 || (minChar > 0 && maxChar < minChar)) throw new ArgumentException($"character n-grams {minChar}…{maxChar} are not a range");
        if (maxWords < 1) throw new ArgumentException($"max words must be positive (got {maxWords})");
        (_buckets, _wordNgrams, _minChar, _maxChar, _maxWords) = (buckets, wordNgrams, minChar, maxChar, maxWords);
    }

    [GeneratedRegex(@"[\p{L}\p{N}]+")] private static partial Regex Word();

    /// <summary>The text's feature ids, in text order (duplicates kept: a repeated word weighs more). Empty for a text without words.</summary>
    public int[] Features(string text)
    {
        var ids = new List<int>();
        string? previous = null;
        int words = 0;
        foreach (Match m in Word().Matches(text))
        {
            if (words++ == _maxWords) break;
            var w = m.Value.ToLowerInvariant();
            ids.Add(Bucket(Fnv(0x811C9DC5u, w)));
            if (_wordNgrams == 2 && previous is not null) ids.Add(Bucket(Fnv(Fnv(0x2545F491u, previous), w)));
            if (_minChar > 0) AddCharNgrams(ids, w);
            previous = w;
        }
        return [.. ids];
    }

    void AddCharNgrams(List<int> ids, string word)
    {
        var padded = $"<{word}>";
        for (int n = _minChar; n <= _maxChar; n++)
            for (int i = 0; i + n <= padded.Length; i++)
                if (n < padded.Length) ids.Add(Bucket(Fnv(0x9E3779B9u, padded.AsSpan(i, n))));   // the whole <word> is the word feature already
    }

    int Bucket(uint hash) => 1 + (int)(hash % (uint)(_buckets - 1));

    static uint Fnv(uint seed, ReadOnlySpan<char> s)
    {
        uint h = seed;
        foreach (char c in s) { h ^= c; h *= 16777619u; }
        return h;
    }
}
