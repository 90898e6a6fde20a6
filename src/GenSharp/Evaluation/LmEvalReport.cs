namespace GenSharp.Evaluation;

/// <summary>Held-out likelihood of a text: loss in nats per token, perplexity, bits per token and per character.</summary>
public sealed record LmEvalReport(long Tokens, long Characters, double Loss, double Perplexity, double BitsPerToken, double BitsPerCharacter);

