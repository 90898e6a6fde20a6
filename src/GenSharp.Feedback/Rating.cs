using System.Text.Json.Nodes;
using GenSharp.Tokenizers;

namespace GenSharp.Feedback;

/// <summary>A 👍/👎 on one answer.</summary>
public sealed record Rating(string Model, IReadOnlyList<ChatMessage> Prompt, string Response, int Value, JsonObject? Settings);
