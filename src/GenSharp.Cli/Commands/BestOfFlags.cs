using System.CommandLine;
using GenSharp.Pipelines;
using GenSharp.Refinement;
using GenSharp.Tokenizers;

namespace GenSharp.Cli.Commands;

/// <summary>Best-of-n and filters for <c>generate</c>: how many candidates, what ranks them, what refuses them.</summary>
sealed class BestOfFlags
{
    readonly Option<int> _bestOf = Cli.Opt("--best-of", "Sample this many candidates and keep the best --n (by mean log-probability per token, as OpenAI's best_of, or by --reward)", 1);
    readonly Option<string?> _reward = Cli.Opt<string?>("--reward", "Rank candidates by this reward model (a gensharp train reward directory) instead of mean log-probability");
    readonly Option<string[]> _reject = new("--reject-regex") { Description = "Refuse candidates in which this .NET regular expression matches (repeatable); the reason is reported" };
    readonly Option<string?> _blocklist = Cli.Opt<string?>("--blocklist", "Refuse candidates containing a word of this file (one word or phrase a line, whole words, any case)");

    public IEnumerable<Option> All => [_bestOf, _reward, _reject, _blocklist];

    /// <summary>Whether any refinement was asked for (else generation streams as usual).</summary>
    public bool Requested(ParseResult r) =>
        r.GetValue(_bestOf) != 1 || r.GetValue(_reward) is not null || r.GetValue(_reject) is { Length: > 0 } || r.GetValue(_blocklist) is not null;

    public int BestOf(ParseResult r) =>
        r.GetValue(_bestOf) is var b and >= 1 and <= Sampling.GenerationOptions.MaxN ? b
        : throw new UserError($"--best-of must be in 1…{Sampling.GenerationOptions.MaxN} (got {r.GetValue(_bestOf)})");

    /// <summary>The filters, checked before any model is loaded.</summary>
    public IReadOnlyList<ICandidateFilter> Filters(ParseResult r)
    {
        var filters = new List<ICandidateFilter>();
        foreach (var pattern in r.GetValue(_reject) ?? [])
            filters.Add(new RegexFilter(pattern));
        if (r.GetValue(_blocklist) is { } file) filters.Add(Blocklist.FromFile(file));
        return filters;
    }

    /// <summary>The ranking: a reward model (checked against the generating model's tokenizer) or mean log-probability.</summary>
    public ICandidateScorer Scorer(ParseResult r, ITokenizer policy, TorchSharp.torch.Device device)
    {
        if (r.GetValue(_reward) is not { } dir) return MeanLogProbScorer.Instance;
        var reward = AutoPipeline.OpenReward(dir, device);
        try { return new RewardScorer(reward, policy); }
        catch (ArgumentException e) { reward.Dispose(); throw new UserError($"--reward {dir}: {e.Message}"); }
    }
}
