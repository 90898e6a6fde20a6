using GenSharp.Extensions.AI;
using GenSharp.IO;
using GenSharp.Pipelines;
using Microsoft.Extensions.AI;

namespace GenSharp.Rag.Retrieval;

/// <summary>
/// An embedding generator and the id an index records for it. Vectors from two embedders are not comparable, so the index
/// refuses a query embedded by any other id. For a GenSharp embedder the id holds the weights' hash: a retrained model
/// at the same path is another embedder.
/// </summary>
public sealed record IndexEmbedder(IEmbeddingGenerator<string, Embedding<float>> Generator, string Id)
{
    const string Local = "gensharp:";

    /// <summary>A GenSharp embedder directory (<c>gensharp train embedder</c>), in-process, with the id <c>gensharp:PATH@HASH</c>.</summary>
    public static IndexEmbedder Open(string dir)
    {
        var full = Path.GetFullPath(dir).TrimEnd('/');
        var pipeline = AutoPipeline.OpenEmbedder(full);
        return new IndexEmbedder(new GenSharpEmbeddingGenerator(pipeline, Path.GetFileName(full)),
            $"{Local}{full}@{FileHash.Sha256(Path.Combine(full, ModelDirectory.WeightsFile))[..16]}");
    }

    /// <summary>The directory of a GenSharp embedder's id, or null for any other embedder.</summary>
    public static string? Directory(string id) =>
        id.StartsWith(Local, StringComparison.Ordinal) && id.LastIndexOf('@') is var at and > 0 ? id[Local.Length..at] : null;
}
