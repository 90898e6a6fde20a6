using System.Text.Json.Nodes;
using GenSharp.Tokenizers;

namespace GenSharp.Feedback;

/// <summary>An A/B pick: two answers to the same conversation, the user's preferred one first.</summary>
public sealed record Comparison(string Model, IReadOnlyList<ChatMessage> Prompt, string Chosen, string Rejected, JsonObject? Settings);
