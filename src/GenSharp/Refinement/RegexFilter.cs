using System.Text.RegularExpressions;

namespace GenSharp.Refinement;

/// <summary>
/// Refuses text in which a .NET regular expression matches. Each match is bounded in time (a pathological pattern
/// refuses the candidate rather than hanging the request), and a pattern that does not compile is an
/// <see cref="ArgumentException"/> quoting it.
/// </summary>
public sealed class RegexFilter : ICandidateFilter
{
    static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(200);
    readonly Regex _regex;

    public RegexFilter(string pattern)
    {
        if (string.IsNullOrEmpty(pattern)) throw new ArgumentException("a reject pattern is empty");
        try { _regex = new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout); }
        catch (ArgumentException e) { throw new ArgumentException($"reject pattern '{pattern}' is not a valid regular expression: {e.Message}"); }
        Pattern = pattern;
    }

    public string Pattern { get; }

    public string? Reject(string text)
    {
        try { return _regex.Match(text) is { Success: true } m ? $"matches /{Pattern}/ at \"{Excerpt(m.Value)}\"" : null; }
        catch (RegexMatchTimeoutException) { return $"/{Pattern}/ took longer than {MatchTimeout.TotalMilliseconds} ms to match"; }
    }

    static string Excerpt(string s) => s.Length <= 40 ? s : s[..37] + "…";
}
