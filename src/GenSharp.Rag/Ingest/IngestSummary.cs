namespace GenSharp.Rag.Ingest;

/// <summary>
/// What an ingest did: files added, updated (content changed), unchanged (same SHA-256: skipped), removed (gone from
/// disk under an ingested root), chunks written, and every file skipped with its reason. Files of types no loader reads
/// are only counted, by extension; <see cref="Embedded"/> chunks got a vector.
/// </summary>
public sealed record IngestSummary(int Added, int Updated, int Unchanged, int Removed, int ChunksWritten,
    IReadOnlyList<(string Path, string Reason)> Skipped, IReadOnlyDictionary<string, int> Unsupported, TimeSpan Elapsed)
{
    public int Embedded { get; init; }
}
