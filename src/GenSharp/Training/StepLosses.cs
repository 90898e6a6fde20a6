namespace GenSharp.Training;

/// <summary>What one optimisation step reports: the main loss (progress bar, loss.png), gradient norm, lr, and named extras.</summary>
public sealed record StepLosses(double Loss, double GradNorm, double Lr, params (string Name, double Value)[] Extra);
