using GenSharp.Pipelines;

namespace GenSharp.Refinement;

/// <summary>One generated candidate: its score (null when a filter refused it first) or why it was refused.</summary>
public sealed record Candidate(Choice Choice, double? Score, string? Rejection)
{
    public bool Accepted => Rejection is null;
}
