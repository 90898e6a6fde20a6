namespace GenSharp.Training;

/// <summary>The run's curves at a checkpoint: the training loss, extra losses and evaluated losses, each against the step.</summary>
public sealed record TrainingCurves(string Title, long Step, IReadOnlyList<(string Name, IReadOnlyList<(long Step, double Value)> Points)> Series);
