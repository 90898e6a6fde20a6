namespace GenSharp.Tokenizers;

/// <summary>One turn of a conversation: role "system", "user" or "assistant", and its text.</summary>
public sealed record ChatMessage(string Role, string Content);

