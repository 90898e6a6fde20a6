namespace GenSharp.Rag.Chunking;

/// <summary>
/// A piece of a document small enough to retrieve and to put in a prompt: its text, the heading path it sits under
/// (" › "-joined), the page, and the offset of its first section in the document. <see cref="Id"/> is stable: the same
/// text under the same headings of the same source always gets the same id, so a re-ingest keeps unchanged chunks' ids.
/// </summary>
public sealed record Chunk(string Id, int Ordinal, string Heading, string Text, int? Page, long Offset, int Tokens);
