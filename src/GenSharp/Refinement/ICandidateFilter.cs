namespace GenSharp.Refinement;

/// <summary>A rejection hook for generated text: why a candidate is refused, or null to keep it.</summary>
public interface ICandidateFilter
{
    string? Reject(string text);
}
