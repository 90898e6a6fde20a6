namespace GenSharp.Data;

/// <summary>One RL prompt: its text as the model sees it, its tokens, and the reference answer a checkable reward uses (or null).</summary>
public sealed record PromptExample(string Text, int[] Tokens, string? Answer);
