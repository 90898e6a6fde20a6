namespace GenSharp.Training;

/// <summary>The held-out metrics of an evaluation at a step.</summary>
public sealed record EvalMetrics(long Step, IReadOnlyList<(string Name, double Value)> Values);
