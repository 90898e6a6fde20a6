namespace GenSharp.Rag.Index;

/// <summary>A retrieved chunk: where it is from (file, heading path, page, offset), its text and its score (higher is better).</summary>
public sealed record SearchHit(string ChunkId, string Source, string Heading, string Text, int? Page, long Offset, double Score);
