using GenSharp.Sampling;

namespace GenSharp.Pipelines;

/// <summary>One generated text of a request, with the tokens behind it and, if asked, their log-probabilities.</summary>
public sealed record Choice(int Index, string Text, FinishReason Finish, IReadOnlyList<int> Tokens, IReadOnlyList<TokenLogprob>? Logprobs, double? BeamScore = null);

