using System.Text.Json.Nodes;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;

namespace GenSharp.Refinement;

/// <summary>
/// Best-of-n refinement at generation time: sample <c>bestOf</c> candidates in one batch, refuse those a filter
/// rejects (with the reason), score the rest (<see cref="MeanLogProbScorer"/> as OpenAI's best_of, or a reward model)
/// and keep the best <c>n</c>. Ties keep generation order.
/// </summary>
public static class BestOfN
{
    /// <summary>Candidates for a plain-text prompt from a text pipeline.</summary>
    public static BestOfResult Generate(TextGenerationPipeline pipeline, string prompt, GenerationOptions options, int bestOf,
        ICandidateScorer scorer, IReadOnlyList<ICandidateFilter>? filters = null, CancellationToken cancel = default)
    {
        var candidates = pipeline.Generate(prompt, Sampling(options, bestOf, scorer), cancel);
        return Select(candidates, JsonValue.Create(prompt), options.N, scorer, filters);
    }

    /// <summary>Candidates for the assistant's next turn of a conversation, through the chat path.</summary>
    public static BestOfResult Complete(ChatPipeline chat, IReadOnlyList<ChatMessage> conversation, GenerationOptions options, int bestOf,
        ICandidateScorer scorer, IReadOnlyList<ICandidateFilter>? filters = null, CancellationToken cancel = default)
    {
        var candidates = chat.Complete(conversation, Sampling(options, bestOf, scorer), cancel);
        JsonNode prompt = new JsonArray([.. conversation.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);
        return Select(candidates, prompt, options.N, scorer, filters);
    }

    /// <summary>The options the candidates are sampled with: n = best_of, log-probabilities when the scorer reads them.</summary>
    public static GenerationOptions Sampling(GenerationOptions options, int bestOf, ICandidateScorer scorer)
    {
        if (bestOf < options.N) throw new ArgumentException($"best of ({bestOf}) must be at least n ({options.N})");
        if (options.Beams > 1) throw new ArgumentException("best of n samples its candidates; it cannot be combined with beam search");
        return (options with { N = bestOf, Logprobs = options.Logprobs || scorer.NeedsLogprobs }).Validate();
    }

    /// <summary>Filters, scores and ranks already generated candidates of one prompt; keeps the best <paramref name="n"/>.</summary>
    public static BestOfResult Select(GenerationResult generated, JsonNode prompt, int n, ICandidateScorer scorer, IReadOnlyList<ICandidateFilter>? filters = null)
    {
        if (n < 1) throw new ArgumentException($"n must be at least 1 (got {n})");
        var reasons = generated.Choices.Select(c => filters?.Select(f => f.Reject(c.Text)).FirstOrDefault(r => r is not null)).ToArray();
        var accepted = generated.Choices.Where((c, i) => reasons[i] is null).ToArray();
        var scores = accepted.Length == 0 ? [] : scorer.Score(prompt, accepted);
        if (scores.Count != accepted.Length) throw new InvalidOperationException($"{scorer.Name} returned {scores.Count} scores for {accepted.Length} candidates");
        var scoreOf = accepted.Select((c, i) => (c.Index, Score: scores[i])).ToDictionary(p => p.Index, p => p.Score);
        var all = generated.Choices.Select((c, i) => new Candidate(c, scoreOf.TryGetValue(c.Index, out var s) ? s : null, reasons[i])).ToArray();
        var chosen = all.Where(c => c.Accepted).OrderByDescending(c => c.Score!.Value).ThenBy(c => c.Choice.Index).Take(n).ToArray();
        return new BestOfResult(chosen, all, scorer.Name, generated.Usage);
    }
}
