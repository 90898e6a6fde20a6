namespace GenSharp.Rag.Chunking;

/// <summary>
/// How documents are cut: at most <see cref="MaxTokens"/> tokens a chunk (whitespace-separated words unless a counter is
/// given), sections packed together while they fit and never across a heading; a section longer than the budget is split
/// at sentence ends where it can, each piece repeating the last <see cref="OverlapTokens"/> of the one before.
/// </summary>
public sealed record ChunkOptions
{
    public int MaxTokens { get; init; } = 200;
    public int OverlapTokens { get; init; } = 40;

    public ChunkOptions Validate()
    {
        if (MaxTokens is < 8 or > 100_000) throw new ArgumentException($"the chunk size must be in 8…100000 tokens (got {MaxTokens})");
        if (OverlapTokens < 0 || OverlapTokens >= MaxTokens / 2) throw new ArgumentException($"the overlap must be in 0…{MaxTokens / 2 - 1} tokens, under half a chunk (got {OverlapTokens})");
        return this;
    }
}
