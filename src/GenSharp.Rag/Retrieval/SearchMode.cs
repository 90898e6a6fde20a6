namespace GenSharp.Rag.Retrieval;

/// <summary>How chunks are found: words (BM25), meaning (dense vectors), or both fused by reciprocal rank.</summary>
public enum SearchMode { Bm25, Dense, Hybrid }
