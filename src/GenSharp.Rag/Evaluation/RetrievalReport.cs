namespace GenSharp.Rag.Evaluation;

/// <summary>
/// Document-level retrieval quality over a query set: recall@1 and recall@k (a relevant source among the first 1 or k
/// distinct sources), MRR (1 / the rank of the first relevant source, 0 when none is in the first k), nDCG@10 (binary
/// relevance), and per-query latency.
/// </summary>
public sealed record RetrievalReport(string Method, int Queries, int K, double RecallAt1, double RecallAtK, double Mrr, double NdcgAt10,
    double LatencyP50Ms, double LatencyP95Ms);
