using GenSharp.Rag.Chunking;

namespace GenSharp.Rag.Ingest;

/// <summary>What an ingest reads and where it files it.</summary>
public sealed record IngestOptions
{
    public string Collection { get; init; } = "default";
    public string Tenant { get; init; } = "";                        // "" = no tenant
    public long MaxFileBytes { get; init; } = 20 << 20;              // larger files are skipped with the reason
    public int MaxDepth { get; init; } = 32;                         // directory levels below a root
    public ChunkOptions Chunking { get; init; } = new();

    public IngestOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Collection)) throw new ArgumentException("the collection name is empty");
        if (MaxFileBytes < 1) throw new ArgumentException($"the file size cap must be positive (got {MaxFileBytes})");
        if (MaxDepth is < 0 or > 1000) throw new ArgumentException($"the depth must be in 0…1000 (got {MaxDepth})");
        Chunking.Validate();
        return this;
    }
}
