namespace GenSharp.Sampling;

public sealed record TopLogprob(int Token, string Text, float Logprob);

