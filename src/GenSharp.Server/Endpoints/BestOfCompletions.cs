using System.Text.Json.Nodes;
using GenSharp.Pipelines;
using GenSharp.Refinement;
using GenSharp.Sampling;
using GenSharp.Server.Api;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Server.Hosting;

namespace GenSharp.Server.Endpoints;

/// <summary>
/// best_of on <c>/v1/completions</c>, with OpenAI's semantics (best_of candidates per prompt, the n with the highest mean
/// log-probability per token returned, usage counting every candidate, no streaming) and GenSharp's extensions:
/// <c>reward_model</c> ranks by a served reward model, <c>reject_patterns</c>/<c>blocklist</c> refuse candidates.
/// When filters leave fewer than n, the missing choices are empty with finish_reason "content_filter", and every
/// refused candidate is listed in <c>rejected</c> with its reason.
/// </summary>
static class BestOfCompletions
{
    public sealed record Plan(int BestOf, ICandidateScorer Scorer, RewardModelHost? Reward, IReadOnlyList<ICandidateFilter> Filters);

    /// <summary>The request's refinement, checked against the served models (400s naming the field).</summary>
    public static Plan Read(CompletionRequest r, ModelRegistry models, LanguageModelWorker worker)
    {
        var filters = new List<ICandidateFilter>();
        foreach (var pattern in r.RejectPatterns ?? [])
        {
            try { filters.Add(new RegexFilter(pattern)); }
            catch (ArgumentException e) { throw ApiException.BadRequest(e.Message, "reject_patterns"); }
        }
        if (r.Blocklist is { } words)
        {
            try { filters.Add(new Blocklist(words)); }
            catch (ArgumentException e) { throw ApiException.BadRequest(e.Message, "blocklist"); }
        }
        RewardModelHost? reward = null;
        if (r.RewardModel is { } name)
        {
            reward = models.FindRewardModel(name)
                ?? throw ApiException.BadRequest($"no reward model '{name}' is served; GET /v1/models lists them (type \"reward\")", "reward_model");
            if (reward.Mismatch(worker.Tokenizer) is { } why)
                throw ApiException.BadRequest($"the reward model '{name}' cannot rank '{worker.Name}': it was trained from another base ({why})", "reward_model");
        }
        ICandidateScorer scorer = reward is null ? MeanLogProbScorer.Instance : new RewardScorer(reward.Reward);
        return new Plan(r.BestOf ?? r.N ?? 1, scorer, reward, filters);
    }

    /// <summary>The options candidates are sampled with (n = best_of, log-probabilities when ranking by them).</summary>
    public static GenerationOptions Sampling(Plan plan, GenerationOptions options)
    {
        try { return BestOfN.Sampling(options, plan.BestOf, plan.Scorer); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message, "best_of"); }
    }

    /// <summary>One prompt's answer: the best n candidates (padded with content_filter choices), and the refused ones.</summary>
    public static async Task<(List<TextCompletion.TextChoice> Choices, List<TextCompletion.Rejection> Rejected)> Answer(Plan plan,
        IReadOnlyList<GeneratedSequence> candidates, int promptIndex, string prompt, int n, bool echo, bool logprobs, CancellationToken cancel)
    {
        var generated = new GenerationResult([.. candidates.Select(s => new Choice(s.Index, s.Text, s.Finish!.Value, s.Tokens, s.Logprobs))],
            new Usage(candidates[0].PromptTokens.Count, candidates.Sum(s => s.Tokens.Count)));
        BestOfResult best;
        try
        {
            best = plan.Reward is { } host
                ? await host.SelectAsync(generated, JsonValue.Create(prompt), n, plan.Filters, cancel)
                : BestOfN.Select(generated, JsonValue.Create(prompt), n, plan.Scorer, plan.Filters);
        }
        catch (InvalidOperationException e) { throw new ApiException(500, e.Message, "reward_model", type: "server_error"); }
        var choices = new List<TextCompletion.TextChoice>();
        for (int j = 0; j < n; j++)
        {
            if (j < best.Chosen.Count)
            {
                var c = best.Chosen[j];
                choices.Add(new((echo ? prompt : "") + c.Choice.Text, promptIndex * n + j,
                    logprobs && c.Choice.Logprobs is { } lps ? TextCompletion.LegacyLogprobs.From(lps) : null, TextGeneration.FinishReason(c.Choice.Finish), Score: c.Score));
            }
            else choices.Add(new(echo ? prompt : "", promptIndex * n + j, null, "content_filter"));
        }
        return (choices, [.. best.Rejected.Select(c => new TextCompletion.Rejection(promptIndex, c.Choice.Text, c.Rejection!))]);
    }
}
