using GenSharp.Rag.Index;

namespace GenSharp.Rag.Answering;

/// <summary>An answer, the sources it was given (numbered from 1 in this order), its checked citations and how it was made.</summary>
public sealed record GroundedAnswer(string Text, IReadOnlyList<SearchHit> Sources, Citations Citations, string Mode);
