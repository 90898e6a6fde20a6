using GenSharp.Pipelines;

namespace GenSharp.Refinement;

/// <summary>
/// What best-of-n returns: <paramref name="Chosen"/> holds the accepted candidates, best first (at most n of them,
/// fewer when filters refused too many); <paramref name="Candidates"/> all of them in generation order;
/// <paramref name="Usage"/> counts every candidate's tokens, as OpenAI bills best_of.
/// </summary>
public sealed record BestOfResult(IReadOnlyList<Candidate> Chosen, IReadOnlyList<Candidate> Candidates, string ScoredBy, Usage Usage)
{
    public IEnumerable<Candidate> Rejected => Candidates.Where(c => !c.Accepted);
}
