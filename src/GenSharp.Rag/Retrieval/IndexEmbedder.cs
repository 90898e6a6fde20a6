using Microsoft.Extensions.AI;

namespace GenSharp.Rag.Retrieval;

/// <summary>
/// An embedding generator and the id an index records for it. Vectors from two embedders are not comparable, so the index
/// refuses a query embedded by any other id. For a GenSharp embedder the id holds the weights' hash: a retrained model
/// at the same path is another embedder.
/// </summary>
public sealed record IndexEmbedder(IEmbeddingGenerator<string, Embedding<float>> Generator, string Id);
