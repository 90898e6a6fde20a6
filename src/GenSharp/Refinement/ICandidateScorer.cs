using System.Text.Json.Nodes;
using GenSharp.Pipelines;

namespace GenSharp.Refinement;

/// <summary>
/// Scores candidate completions of one prompt for best-of-n; higher is better. The prompt is a JSON string (plain
/// text) or a message array (a conversation), as TRL's formats and <see cref="RewardPipeline"/> read them.
/// </summary>
public interface ICandidateScorer
{
    /// <summary>What the score is, as reported beside it ("mean_logprob", "reward").</summary>
    string Name { get; }

    /// <summary>Whether the candidates must be generated with their token log-probabilities.</summary>
    bool NeedsLogprobs { get; }

    IReadOnlyList<double> Score(JsonNode prompt, IReadOnlyList<Choice> candidates);
}
