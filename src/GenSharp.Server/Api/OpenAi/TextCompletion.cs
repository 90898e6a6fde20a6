using System.Text.Json.Serialization;

namespace GenSharp.Server.Api.OpenAi;

/// <summary>
/// A (legacy) text completion, whole or one streamed event (<c>object: "text_completion"</c>). <c>gensharp generate --json</c>
/// prints it too, with two GenSharp fields per choice that the server leaves out: the token ids and the beam score.
/// With best_of, two more GenSharp fields: each choice's <c>score</c> (and <c>scored_by</c>: mean_logprob, OpenAI's
/// ranking, or reward) and the candidates filters refused, with the reason (<c>rejected</c>).
/// </summary>
public sealed record TextCompletion(string Id, string Object, long Created, string Model, TextCompletion.TextChoice[] Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TokenUsage? Usage = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ScoredBy = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TextCompletion.Rejection[]? Rejected = null)
{
    public const string ObjectName = "text_completion";

    public sealed record TextChoice(string Text, int Index, LegacyLogprobs? Logprobs, string? FinishReason,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int[]? Tokens = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? BeamScore = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Score = null);

    /// <summary>A best_of candidate a filter refused: which prompt, its text and why.</summary>
    public sealed record Rejection(int Prompt, string Text, string Reason);

    /// <summary>The legacy logprobs shape: parallel arrays.</summary>
    public sealed record LegacyLogprobs(string[] Tokens, double[] TokenLogprobs, Dictionary<string, double>[] TopLogprobs, int[] TextOffset)
    {
        public static LegacyLogprobs From(IReadOnlyList<Sampling.TokenLogprob> lps)
        {
            var offsets = new int[lps.Count];
            for (int i = 1; i < lps.Count; i++) offsets[i] = offsets[i - 1] + lps[i - 1].Text.Length;
            return new([.. lps.Select(l => l.Text)], [.. lps.Select(l => l.Logprob)],
                [.. lps.Select(l => l.Top.GroupBy(t => t.Text).ToDictionary(g => g.Key, g => (double)g.First().Logprob))], offsets);
        }
    }
}
