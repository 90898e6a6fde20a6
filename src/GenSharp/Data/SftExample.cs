namespace GenSharp.Data;

/// <summary>One fine-tuning example: its tokens, and for each whether it is a target of the loss (completion and assistant tokens).</summary>
public sealed record SftExample(int[] Tokens, bool[] Train);
