namespace GenSharp.Pipelines;

/// <summary>A conversation rendered and encoded for a model, and how many old turns were dropped to fit.</summary>
public sealed record ChatPrompt(string Text, int[] Tokens, int DroppedTurns);
