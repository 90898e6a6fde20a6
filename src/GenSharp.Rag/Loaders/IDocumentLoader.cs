namespace GenSharp.Rag.Loaders;

/// <summary>
/// Reads one kind of document. <see cref="Load"/> gets the file's bytes (the ingestor has already capped their size)
/// and throws <see cref="InvalidDataException"/> with the reason when the content is not what the name says.
/// </summary>
public interface IDocumentLoader
{
    /// <summary>What the loader reads, as reported in summaries ("markdown", "man page", …).</summary>
    string Name { get; }

    bool Handles(string path);

    LoadedDocument Load(string path, byte[] content);
}
