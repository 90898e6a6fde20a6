using System.Globalization;

namespace GenSharp.Refinement;

/// <summary>
/// Refuses text containing a listed word or phrase, case-insensitively and only as a whole word: "ass" blocks
/// "Ass!" but not "class". A file lists one entry a line; blank lines and lines starting with # are skipped.
/// </summary>
public sealed class Blocklist : ICandidateFilter
{
    readonly string[] _entries;

    public Blocklist(IEnumerable<string> entries)
    {
        _entries = [.. entries.Select(e => e.Trim()).Where(e => e.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase)];
        if (_entries.Length == 0) throw new ArgumentException("the blocklist is empty");
    }

    public IReadOnlyList<string> Entries => _entries;

    /// <summary>Reads one entry a line; a missing file is a <see cref="FileNotFoundException"/> naming it.</summary>
    public static Blocklist FromFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"blocklist {path} does not exist", path);
        var entries = File.ReadLines(path).Where(l => !l.TrimStart().StartsWith('#')).ToList();
        try { return new Blocklist(entries); }
        catch (ArgumentException) { throw new ArgumentException($"blocklist {path} lists no words"); }
    }

    public string? Reject(string text)
    {
        foreach (var entry in _entries)
            for (int at = text.IndexOf(entry, StringComparison.OrdinalIgnoreCase); at >= 0;
                 at = text.IndexOf(entry, at + 1, StringComparison.OrdinalIgnoreCase))
                if (!IsWordChar(text, at - 1) && !IsWordChar(text, at + entry.Length))
                    return $"contains the blocked word '{entry}'";
        return null;
    }

    static bool IsWordChar(string text, int i) =>
        i >= 0 && i < text.Length && (char.IsLetterOrDigit(text[i]) || CharUnicodeInfo.GetUnicodeCategory(text[i]) == UnicodeCategory.ConnectorPunctuation);
}
