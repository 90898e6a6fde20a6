using System.Text.RegularExpressions;

namespace GenSharp.Alignment;

/// <summary>
/// Rewards a program can check, for RL with verifiable rewards (GRPO): each maps a completion (and the prompt's reference
/// answer, where there is one) to a number. The completion is the text the model emitted, without the stop sequence.
/// </summary>
public static class CheckableRewards
{
    /// <summary>1 when the completion, trimmed of surrounding white space, is exactly the answer; else 0.</summary>
    public static double ExactMatch(string completion, string answer) => completion.Trim() == answer.Trim() ? 1 : 0;

    /// <summary>1 when <paramref name="pattern"/> matches somewhere in the completion; else 0.</summary>
    public static Func<string, double> Matches(string pattern)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return completion => regex.IsMatch(completion) ? 1 : 0;
    }

    /// <summary>1 when the completion's length in characters is within [<paramref name="min"/>, <paramref name="max"/>]; else 0.</summary>
    public static Func<string, double> LengthWindow(int min, int max)
    {
        if (min < 0 || max < min) throw new ArgumentException($"a length window needs 0 ≤ min ≤ max (got {min}…{max})");
        return completion => completion.Length >= min && completion.Length <= max ? 1 : 0;
    }
}
