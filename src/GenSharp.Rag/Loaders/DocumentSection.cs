namespace GenSharp.Rag.Loaders;

/// <summary>
/// A run of text under one heading path (outermost first), with where it came from: the page (PDFs) and the character
/// offset in the document's text as the loader read it. Chunks never span two sections' headings.
/// </summary>
public sealed record DocumentSection(IReadOnlyList<string> Headings, string Text, int? Page = null, long Offset = 0);
