using GenSharp.Sampling;

namespace GenSharp.Evaluation;

/// <summary>log p(continuation | prompt): the total, per token, and the token count (for perplexity: exp(−total / count)).</summary>
public sealed record ContinuationScore(double LogLikelihood, IReadOnlyList<TokenLogprob> Tokens)
{
    public int Count => Tokens.Count;
    public double Perplexity => Math.Exp(-LogLikelihood / Count);
}
