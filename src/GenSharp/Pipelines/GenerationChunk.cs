using GenSharp.Sampling;

namespace GenSharp.Pipelines;

/// <summary>A streamed piece of choice <see cref="Index"/>: new text, its token's log-probability, and at the end the finish reason and usage.</summary>
public sealed record GenerationChunk(int Index, string Text, TokenLogprob? Logprob, FinishReason? Finish, Usage? Usage = null);

