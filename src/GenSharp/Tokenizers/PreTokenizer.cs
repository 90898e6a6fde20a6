using System.Text.RegularExpressions;

namespace GenSharp.Tokenizers;

/// <summary>
/// How byte-level BPE tokenizers split text into pieces before merging: a regex whose matches are the pieces (HF's Split
/// with behavior Isolated, or ByteLevel's own regex; text between matches is a piece too). The known families carry the
/// name llama.cpp gives them (GGUF's tokenizer.ggml.pre); any other regex from a tokenizer.json is used as it is, with a
/// time limit per match, since a pattern from a file may backtrack without end.
/// </summary>
public sealed class PreTokenizer
{
    /// <summary>GPT-2's pattern (HF ByteLevel with use_regex: true).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Llama 3's (and cl100k's): case-insensitive contractions, a letter run with one leading non-letter, digits in threes.</summary>
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's: Llama 3's with every digit its own piece.</summary>
    public const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static readonly Dictionary<string, string> Names = new() { [Gpt2Pattern] = "gpt-2", [Llama3Pattern] = "llama-bpe", [Qwen2Pattern] = "qwen2" };

    public static readonly PreTokenizer Gpt2 = new(Gpt2Pattern), Llama3 = new(Llama3Pattern), Qwen2 = new(Qwen2Pattern);

    readonly Regex _regex;

    public PreTokenizer(string pattern)
    {
        Pattern = pattern;
        try { _regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException e) { throw new ArgumentException($"pre-tokenizer pattern is not a valid regex ({e.Message})"); }
    }

    public string Pattern { get; }

    /// <summary>llama.cpp's name for this family (gpt-2, llama-bpe, qwen2), or null for a pattern of another family.</summary>
    public string? LlamaCppName => Names.GetValueOrDefault(Pattern);

    /// <summary>The family a llama.cpp name stands for, or null.</summary>
    public static PreTokenizer? FromLlamaCppName(string name) => name switch
    {
        "gpt-2" or "gpt2" => Gpt2, "llama-bpe" or "llama3" => Llama3, "qwen2" => Qwen2, _ => null,
    };

    /// <summary>The pieces of <paramref name="text"/>, in order; together they are the text.</summary>
    public List<string> Split(string text)
    {
        var pieces = new List<string>();
        int at = 0;
        try
        {
            foreach (var m in _regex.EnumerateMatches(text))
            {
                if (m.Index > at) pieces.Add(text[at..m.Index]);
                if (m.Length > 0) pieces.Add(text.Substring(m.Index, m.Length));
                at = m.Index + m.Length;
            }
        }
        catch (RegexMatchTimeoutException) { throw new InvalidOperationException($"the pre-tokenizer pattern took over a second on one match: {Pattern}"); }
        if (at < text.Length) pieces.Add(text[at..]);
        return pieces;
    }
}
