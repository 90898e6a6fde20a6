using System.Text;

namespace GenSharp.Tokenizers;

/// <summary>
/// Learns byte-level BPE merges from text: start from the 256 byte symbols, repeatedly merge the most
/// frequent adjacent pair inside pre-tokenized pieces. Ties go to the pair with the smaller ids, as in
/// HF tokenizers. Special tokens are appended after the learned vocabulary.
/// </summary>
public sealed class BpeTrainer(int vocabSize, IReadOnlyList<string>? specialTokens = null)
{
    readonly IReadOnlyList<string> _specials = specialTokens ?? [];

    public ByteLevelBpeTokenizer Train(string text, IProgress<double>? progress = null)
    {
        int mergesWanted = vocabSize - 256 - _specials.Count;
        if (mergesWanted < 0)
            throw new ArgumentException($"vocab size {vocabSize} is below the 256 byte symbols plus {_specials.Count} special tokens");

        // Distinct pieces with their counts; special-token strings are not learned from.
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var part in _specials.Count == 0 ? [text] : text.Split(_specials.ToArray(), StringSplitOptions.None))
            foreach (var piece in PreTokenizer.Gpt2.Split(part))
                counts[piece] = counts.GetValueOrDefault(piece) + 1;
        var words = counts.Keys.Select(p => Encoding.UTF8.GetBytes(p).Select(b => (int)b).ToList()).ToArray();
        var freq = counts.Values.ToArray();

        var tokens = Enumerable.Range(0, 256).Select(b => ByteLevelBpeTokenizer.ByteToChar[b].ToString()).ToList();
        var pairCounts = new Dictionary<(int, int), long>();
        var where = new Dictionary<(int, int), HashSet<int>>();
        for (int w = 0; w < words.Length; w++) AddPairs(w, +1);

        var merges = new List<(string, string)>();
        while (merges.Count < mergesWanted && pairCounts.Count > 0)
        {
            (int A, int B) best = default;
            long bestCount = 0;
            foreach (var (pair, c) in pairCounts)
                if (c > bestCount || (c == bestCount && pair.CompareTo(best) < 0)) (best, bestCount) = (pair, c);
            if (bestCount <= 0) break;

            int newId = tokens.Count;
            tokens.Add(tokens[best.A] + tokens[best.B]);
            merges.Add((tokens[best.A], tokens[best.B]));
            foreach (var w in where[best].ToArray())
            {
                AddPairs(w, -1);
                var word = words[w];
                for (int i = 0; i + 1 < word.Count; i++)
                    if (word[i] == best.A && word[i + 1] == best.B) { word[i] = newId; word.RemoveAt(i + 1); }
                AddPairs(w, +1);
            }
            progress?.Report((double)merges.Count / mergesWanted);
        }

        var specials = new Dictionary<string, int>();
        foreach (var s in _specials) { specials[s] = tokens.Count; tokens.Add(s); }
        return new ByteLevelBpeTokenizer(tokens, merges, specials);

        void AddPairs(int w, int sign)
        {
            var word = words[w];
            for (int i = 0; i + 1 < word.Count; i++)
            {
                var pair = (word[i], word[i + 1]);
                long c = pairCounts.GetValueOrDefault(pair) + sign * (long)freq[w];
                if (c == 0) pairCounts.Remove(pair); else pairCounts[pair] = c;
                if (sign > 0)
                {
                    if (!where.TryGetValue(pair, out var set)) where[pair] = set = [];
                    set.Add(w);
                }
            }
        }
    }
}
