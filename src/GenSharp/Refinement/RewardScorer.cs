using System.Text.Json.Nodes;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;

namespace GenSharp.Refinement;

/// <summary>
/// Ranks candidates by a reward model's score, all of a prompt's candidates in one batch. A conversational prompt
/// is scored with the candidate as the assistant's turn, a plain prompt with the candidate appended, as the reward
/// model was trained. A NaN score is an error naming the candidate, never a silent ranking.
/// </summary>
public sealed class RewardScorer : ICandidateScorer
{
    readonly RewardPipeline _reward;

    /// <summary>
    /// With <paramref name="policy"/> (the generating model's tokenizer), refuses a reward model trained from another
    /// base: the same ids must stand for the same text, or its scores of this model's answers mean nothing.
    /// </summary>
    public RewardScorer(RewardPipeline reward, ITokenizer? policy = null)
    {
        _reward = reward;
        if (policy is not null && reward.BaseMismatch(policy) is { } why)
            throw new ArgumentException($"the reward model was trained from another base than the generating model ({why}); " +
                "train it from this model: gensharp train reward --model THIS_MODEL …");
    }

    public string Name => "reward";
    public bool NeedsLogprobs => false;
    public RewardPipeline Reward => _reward;

    public IReadOnlyList<double> Score(JsonNode prompt, IReadOnlyList<Choice> candidates)
    {
        JsonNode Response(string text) => prompt is JsonArray
            ? new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = text })
            : JsonValue.Create(text);
        var scores = _reward.Score([.. candidates.Select(c => (prompt.DeepClone(), Response(c.Text)))], source: "candidate");
        for (int i = 0; i < scores.Count; i++)
            if (!double.IsFinite(scores[i]))
                throw new InvalidOperationException($"the reward model scored candidate {candidates[i].Index} {scores[i]}: it is not a finite number");
        return scores;
    }
}
