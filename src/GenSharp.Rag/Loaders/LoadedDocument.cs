namespace GenSharp.Rag.Loaders;

/// <summary>A document as a loader read it: a title when it has one, and its text in sections.</summary>
public sealed record LoadedDocument(string? Title, IReadOnlyList<DocumentSection> Sections);
