namespace GenSharp.Sampling;

/// <summary>A chosen token's log-probability under the model (raw logits, before any processor) and the top alternatives.</summary>
public sealed record TokenLogprob(int Token, string Text, float Logprob, IReadOnlyList<TopLogprob> Top);

