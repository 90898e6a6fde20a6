using System.Text.Json.Nodes;
using GenSharp.Pipelines;

namespace GenSharp.Refinement;

/// <summary>
/// OpenAI's best_of ranking: the mean log-probability per generated token under the model (every sampled token,
/// the end-of-sequence token too), from the log-probabilities the engine records while sampling — no second pass.
/// </summary>
public sealed class MeanLogProbScorer : ICandidateScorer
{
    public static readonly MeanLogProbScorer Instance = new();

    public string Name => "mean_logprob";
    public bool NeedsLogprobs => true;

    public IReadOnlyList<double> Score(JsonNode prompt, IReadOnlyList<Choice> candidates) =>
        [.. candidates.Select(c => c.Logprobs is { Count: > 0 } lps ? lps.Average(l => (double)l.Logprob)
            : c.Logprobs is null ? throw new InvalidOperationException($"candidate {c.Index} was generated without log-probabilities")
            : double.NegativeInfinity)];
}
