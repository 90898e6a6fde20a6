using GenSharp.Numerics;
using GenSharp.Training;

namespace GenSharp.Sampling;

/// <summary>
/// Picks one sequence's next token: runs the logits processors the options ask for, then draws from the
/// result with the sequence's own seeded generator (so a sequence samples the same tokens whether it is
/// decoded alone or in a batch). Temperature 0 is greedy: argmax after bias and penalties.
/// </summary>
public sealed class TokenSampler
{
    readonly ILogitsProcessor[] _processors;
    readonly bool _greedy;
    ulong _state;

    /// <param name="stream">Distinguishes the n samples of one request that share a seed.</param>
    public TokenSampler(GenerationOptions options, int stream = 0)
    {
        options.Validate();
        _processors = BuildProcessors(options);
        _greedy = options.Temperature == 0;
        ulong seed = options.Seed is { } s ? (ulong)s : (ulong)Random.Shared.NextInt64();
        _state = SplitMix64.Hash(seed, (ulong)stream);
    }

    /// <summary>The processors for <paramref name="o"/>, in order: bias, bans, penalties, temperature, top-k, top-p, typical-p, min-p.</summary>
    public static ILogitsProcessor[] BuildProcessors(GenerationOptions o)
    {
        var list = new List<ILogitsProcessor>();
        if (o.LogitBias is { Count: > 0 } bias) list.Add(new LogitBiasProcessor(bias));
        if (o.BannedTokens is { Count: > 0 } banned) list.Add(new BannedTokensProcessor(banned));
        if (o.RepetitionPenalty != 1) list.Add(new RepetitionPenaltyProcessor(o.RepetitionPenalty));
        if (o.PresencePenalty != 0 || o.FrequencyPenalty != 0) list.Add(new PresenceFrequencyPenaltyProcessor(o.PresencePenalty, o.FrequencyPenalty));
        if (o.Temperature == 0) return [.. list];   // greedy: the filters below cannot change the argmax
        if (o.Temperature != 1) list.Add(new TemperatureProcessor(o.Temperature));
        if (o.TopK > 0) list.Add(new TopKProcessor(o.TopK));
        if (o.TopP < 1) list.Add(new TopPProcessor(o.TopP));
        if (o.TypicalP < 1) list.Add(new TypicalPProcessor(o.TypicalP));
        if (o.MinP > 0) list.Add(new MinPProcessor(o.MinP));
        return [.. list];
    }

    /// <summary>Applies every processor to a copy of <paramref name="logits"/>.</summary>
    public float[] ProcessedLogits(ReadOnlySpan<float> logits, TokenHistory history)
    {
        var x = logits.ToArray();
        foreach (var p in _processors) p.Process(x, history);
        if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Max(x)))
            throw new InvalidOperationException(float.IsNaN(System.Numerics.Tensors.TensorPrimitives.Max(x))
                ? "the model produced NaN logits" : "no token is possible: banned tokens and logit bias exclude the whole vocabulary");
        return x;
    }

    /// <summary>The distribution the next token is drawn from (one-hot for greedy).</summary>
    public float[] Probabilities(ReadOnlySpan<float> logits, TokenHistory history)
    {
        var x = ProcessedLogits(logits, history);
        if (!_greedy) return Distribution.Softmax(x);
        var onehot = new float[x.Length];
        onehot[Distribution.ArgMax(x)] = 1;
        return onehot;
    }

    public int Sample(ReadOnlySpan<float> logits, TokenHistory history)
    {
        var x = ProcessedLogits(logits, history);
        if (_greedy) return Distribution.ArgMax(x);
        var probs = Distribution.Softmax(x);
        // Inverse CDF on a uniform in [0, total): robust to rounding in the normalisation.
        double total = 0;
        foreach (var q in probs) total += q;
        double u = NextDouble() * total, cdf = 0;
        int last = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            if (probs[i] <= 0) continue;
            cdf += probs[i];
            last = i;
            if (u < cdf) return i;
        }
        return last;
    }

    double NextDouble()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return (SplitMix64.Mix(_state) >> 11) * (1.0 / (1UL << 53));
    }
}
