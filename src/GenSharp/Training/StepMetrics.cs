namespace GenSharp.Training;

/// <summary>Progress of one training step as the loop reports it.</summary>
public sealed record StepMetrics(long Step, long TotalSteps, double Loss, double Lr, double GradNorm, double StepMs, double ItemsPerSecond);
