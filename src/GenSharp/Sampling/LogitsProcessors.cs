using System.Numerics.Tensors;

namespace GenSharp.Sampling;

/// <summary>The tokens a sequence has so far, for penalties: the prompt, and counts of the generated ones.</summary>
public sealed class TokenHistory(IEnumerable<int> prompt)
{
    readonly HashSet<int> _seen = [.. prompt];
    readonly Dictionary<int, int> _generated = [];

    public IReadOnlyCollection<int> Seen => _seen;                       // prompt and output
    public IReadOnlyDictionary<int, int> GeneratedCounts => _generated;  // output only

    public void Add(int token)
    {
        _seen.Add(token);
        _generated[token] = _generated.GetValueOrDefault(token) + 1;
    }

    public TokenHistory Clone()
    {
        var c = new TokenHistory(_seen);
        foreach (var (k, v) in _generated) c._generated[k] = v;
        return c;
    }
}

/// <summary>One step of turning raw logits into the distribution sampled from; edits <c>logits</c> in place.</summary>
public interface ILogitsProcessor
{
    void Process(Span<float> logits, TokenHistory history);
}

/// <summary>Adds a fixed bias to chosen logits (OpenAI <c>logit_bias</c>).</summary>
internal sealed class LogitBiasProcessor(IReadOnlyDictionary<int, float> bias) : ILogitsProcessor
{
    public void Process(Span<float> logits, TokenHistory history)
    {
        foreach (var (id, b) in bias) logits[id] += b;
    }
}

/// <summary>Makes tokens impossible.</summary>
internal sealed class BannedTokensProcessor(IReadOnlyList<int> banned) : ILogitsProcessor
{
    public void Process(Span<float> logits, TokenHistory history)
    {
        foreach (var id in banned) logits[id] = float.NegativeInfinity;
    }
}

/// <summary>CTRL's repetition penalty (Keskar et al. 2019, eq. in §4.1): seen tokens' logits divided by r when positive, multiplied when negative.</summary>
internal sealed class RepetitionPenaltyProcessor(double penalty) : ILogitsProcessor
{
    public void Process(Span<float> logits, TokenHistory history)
    {
        float r = (float)penalty;
        foreach (var id in history.Seen) logits[id] = logits[id] > 0 ? logits[id] / r : logits[id] * r;
    }
}

/// <summary>OpenAI's presence and frequency penalties: l −= presence·[c &gt; 0] + frequency·c over generated counts c.</summary>
internal sealed class PresenceFrequencyPenaltyProcessor(double presence, double frequency) : ILogitsProcessor
{
    public void Process(Span<float> logits, TokenHistory history)
    {
        foreach (var (id, c) in history.GeneratedCounts) logits[id] -= (float)(presence + frequency * c);
    }
}

/// <summary>Divides logits by the temperature (&gt; 0).</summary>
internal sealed class TemperatureProcessor(double temperature) : ILogitsProcessor
{
    public void Process(Span<float> logits, TokenHistory history) => TensorPrimitives.Divide(logits, (float)temperature, logits);
}

/// <summary>Keeps the k largest logits (ties with the k-th kept too).</summary>
internal sealed class TopKProcessor(int k) : ILogitsProcessor
{
    public void Process(Span<float> logits, TokenHistory history)
    {
        if (k >= logits.Length) return;
        float kth = Distribution.KthLargest(logits, k);
        foreach (ref var l in logits) if (l < kth) l = float.NegativeInfinity;
    }
}

/// <summary>Nucleus sampling (Holtzman et al. 2020, eq. 3): keeps the smallest most-likely set whose probability is ≥ p.</summary>
internal sealed class TopPProcessor(double p) : ILogitsProcessor
{
    public void Process(Span<float> logits, TokenHistory history)
    {
        var probs = Distribution.Softmax(logits);
        Distribution.KeepPrefixWithMass(logits, probs, Distribution.Descending(probs), p);
    }
}

/// <summary>
/// Locally typical sampling (Meister et al. 2023, eq. 7): rank tokens by |−log p − H| (H = entropy) and keep
/// the smallest set, in that order, whose probability is ≥ τ.
/// </summary>
internal sealed class TypicalPProcessor(double tau) : ILogitsProcessor
{
    public void Process(Span<float> logits, TokenHistory history)
    {
        var probs = Distribution.Softmax(logits);
        double entropy = 0;
        foreach (var q in probs) if (q > 0) entropy -= q * Math.Log(q);
        var surprise = new float[probs.Length];
        for (int i = 0; i < probs.Length; i++) surprise[i] = probs[i] > 0 ? (float)Math.Abs(-Math.Log(probs[i]) - entropy) : float.PositiveInfinity;
        var order = Enumerable.Range(0, probs.Length).ToArray();
        Array.Sort(surprise, order);
        Distribution.KeepPrefixWithMass(logits, probs, order, tau);
    }
}

/// <summary>Min-p sampling (Nguyen et al. 2024): keeps tokens with p ≥ min_p · p_max.</summary>
internal sealed class MinPProcessor(double minP) : ILogitsProcessor
{
    public void Process(Span<float> logits, TokenHistory history)
    {
        // p_i ≥ m·p_max  ⇔  l_i ≥ l_max + ln m: no softmax needed.
        float threshold = TensorPrimitives.Max(logits) + (float)Math.Log(minP);
        foreach (ref var l in logits) if (l < threshold) l = float.NegativeInfinity;
    }
}

/// <summary>Softmax and ordering helpers shared by the processors and the sampler.</summary>
public static class Distribution
{
    /// <summary>Probabilities of <paramref name="logits"/> (−∞ → 0).</summary>
    public static float[] Softmax(ReadOnlySpan<float> logits)
    {
        var p = new float[logits.Length];
        TensorPrimitives.SoftMax(logits, p);
        return p;
    }

    /// <summary>Natural-log probabilities, computed stably as l − logsumexp(l).</summary>
    public static float[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        float max = TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        float lse = max + (float)Math.Log(sum);
        var r = new float[logits.Length];
        TensorPrimitives.Subtract(logits, lse, r);
        return r;
    }

    /// <summary>Indices sorted by descending value (stable: equal values keep index order).</summary>
    public static int[] Descending(float[] values)
    {
        var order = Enumerable.Range(0, values.Length).ToArray();
        Array.Sort(order, (a, b) => values[b].CompareTo(values[a]) is var c && c != 0 ? c : a.CompareTo(b));
        return order;
    }

    /// <summary>Keeps the shortest prefix of <paramref name="order"/> whose probability reaches <paramref name="mass"/>; masks the rest.</summary>
    public static void KeepPrefixWithMass(Span<float> logits, float[] probs, int[] order, double mass)
    {
        double sum = 0;
        int keep = 0;
        while (keep < order.Length && sum < mass) sum += probs[order[keep++]];
        for (int i = keep; i < order.Length; i++) logits[order[i]] = float.NegativeInfinity;
    }

    /// <summary>The k-th largest value (1-based).</summary>
    public static float KthLargest(ReadOnlySpan<float> values, int k)
    {
        var copy = values.ToArray();
        Array.Sort(copy);
        return copy[^k];
    }

    /// <summary>Index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values) => TensorPrimitives.IndexOfMax(values);
}
