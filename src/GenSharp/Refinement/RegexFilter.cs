using System.Text.RegularExpressions;

namespace GenSharp.Refinement;

/// <summary>
/// Refuses text in which a .NET regular expression matches. Patterns run on .NET's non-backtracking engine: matching
/// takes time linear in the text whatever the pattern, so a pattern sent to the server cannot stall it (the price:
/// no lookarounds, backreferences or atomic groups). A pattern that does not compile is an
/// <see cref="ArgumentException"/> quoting it; a time bound per match stays as a second guard.
/// </summary>
public sealed class RegexFilter : ICandidateFilter
{
    static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(200);
    readonly Regex _regex;

    public RegexFilter(string pattern)
    {
        if (string.IsNullOrEmpty(pattern)) throw new ArgumentException("a reject pattern is empty");
        try { _regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, MatchTimeout); }
        catch (NotSupportedException e) { throw new ArgumentException($"reject pattern '{pattern}' uses a construct linear-time matching cannot run ({e.Message})"); }
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
