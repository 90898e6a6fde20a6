namespace GenSharp.Sampling;

/// <summary>A finished beam: its tokens, text (stop sequence cut off), length-normalised score and why it ended.</summary>
public sealed record BeamHypothesis(IReadOnlyList<int> Tokens, string Text, double Score, double SumLogprob, FinishReason Finish);

