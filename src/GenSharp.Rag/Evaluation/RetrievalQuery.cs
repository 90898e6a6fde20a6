namespace GenSharp.Rag.Evaluation;

/// <summary>A query and the sources (file paths, as the index stores them) that answer it.</summary>
public sealed record RetrievalQuery(string Query, IReadOnlySet<string> Relevant);
