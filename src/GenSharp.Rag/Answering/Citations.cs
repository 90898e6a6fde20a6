using System.Text.RegularExpressions;

namespace GenSharp.Rag.Answering;

/// <summary>
/// The [n] citations of an answer, checked against the sources actually given: <see cref="Invalid"/> lists numbers that
/// point outside them (0, or more than were given), which makes the answer unusable as a grounded one.
/// </summary>
public sealed partial record Citations(IReadOnlyList<int> Cited, IReadOnlyList<int> Invalid)
{
    public bool Valid => Cited.Count > 0 && Invalid.Count == 0;

    /// <summary>Reads [1], [2, 3] and [1][4]; each number once, in order of first appearance.</summary>
    public static Citations Check(string answer, int sourcesGiven)
    {
        var numbers = Marker().Matches(answer).SelectMany(m => m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Select(s => int.TryParse(s, out int n) ? n : -1).Distinct().ToList();
        return new Citations([.. numbers.Where(n => n >= 1 && n <= sourcesGiven)], [.. numbers.Where(n => n < 1 || n > sourcesGiven)]);
    }

    [GeneratedRegex(@"\[(\s*\d+\s*(?:,\s*\d+\s*)*)\]")]
    private static partial Regex Marker();
}
