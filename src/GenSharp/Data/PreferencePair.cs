namespace GenSharp.Data;

/// <summary>Two answers to one prompt, the preferred one first; each tokenized with the prompt, the loss mask on the answer.</summary>
public sealed record PreferencePair(SftExample Chosen, SftExample Rejected);
