using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using GenSharp.Pipelines;
using GenSharp.Refinement;
using GenSharp.Tokenizers;

namespace GenSharp.Server.Hosting;

/// <summary>
/// A served reward model: ranks best_of candidates of requests to the language models. One scoring pass runs at a time
/// (on the thread pool); a language model it does not match (another tokenizer) is refused once and remembered.
/// </summary>
public sealed class RewardModelHost(string name, RewardPipeline reward) : IDisposable
{
    readonly SemaphoreSlim _lock = new(1, 1);
    readonly ConcurrentDictionary<ITokenizer, string?> _mismatch = new();

    public string Name => name;
    public RewardPipeline Reward => reward;

    /// <summary>Why this reward model cannot rank the text of a model with <paramref name="policy"/>'s tokenizer, or null.</summary>
    public string? Mismatch(ITokenizer policy) => _mismatch.GetOrAdd(policy, reward.BaseMismatch);

    public async Task<BestOfResult> SelectAsync(GenerationResult candidates, JsonNode prompt, int n, IReadOnlyList<ICandidateFilter> filters, CancellationToken cancel)
    {
        await _lock.WaitAsync(cancel);
        try { return await Task.Run(() => BestOfN.Select(candidates, prompt, n, new RewardScorer(reward), filters), cancel); }
        finally { _lock.Release(); }
    }

    public void Dispose() => reward.Dispose();
}
