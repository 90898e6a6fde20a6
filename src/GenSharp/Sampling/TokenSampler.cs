using static TorchSharp.torch;

namespace GenSharp.Sampling;

/// <summary>Draws one token id per row from logits with temperature and top-k, from its own seeded generator.</summary>
public sealed class TokenSampler : IDisposable
{
    readonly SamplingOptions _options;
    readonly Generator _generator;

    public TokenSampler(SamplingOptions options)
    {
        _options = options.Validate();
        _generator = new Generator((ulong)(options.Seed ?? Random.Shared.NextInt64()));
    }

    /// <summary>The probabilities actually sampled from for <paramref name="logits"/> (V) or (B, V); exposed for tests.</summary>
    public Tensor Probabilities(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var x = logits.to(ScalarType.Float32);
        if (_options.Temperature == 0)
        {
            var greedy = zeros_like(x).scatter_(-1, x.argmax(-1, keepdim: true), 1.0f);
            return greedy.MoveToOuterDisposeScope();
        }
        x = x / _options.Temperature;
        if (_options.TopK > 0 && _options.TopK < x.shape[^1])
        {
            // Keep the k largest logits; everything below the k-th is impossible.
            var kth = x.topk(_options.TopK, -1).values[TensorIndex.Ellipsis, TensorIndex.Slice(-1, null)];
            x = x.masked_fill(x < kth, double.NegativeInfinity);
        }
        return nn.functional.softmax(x, -1).MoveToOuterDisposeScope();
    }

    /// <summary>Next token ids, shape (B) for (B, V) logits or a scalar for (V).</summary>
    public Tensor Sample(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var probs = Probabilities(logits.cpu());
        bool vector = probs.dim() == 1;
        var ids = multinomial(vector ? probs.unsqueeze(0) : probs, 1, false, _generator).squeeze(-1);
        return (vector ? ids.squeeze(0) : ids).MoveToOuterDisposeScope();
    }

    public void Dispose() => _generator.Dispose();
}
