namespace GenSharp.Training;

/// <summary>The run's curves at a checkpoint: the training loss, extra losses and evaluated losses, each against the step.</summary>
public sealed record TrainingCurves(string Title, long Step, IReadOnlyList<(string Name, IReadOnlyList<(long Step, double Value)> Points)> Series);

/// <summary>
/// A file drawn into every checkpoint's model folder from the run's curves. The core has no plotting dependency:
/// GenSharp.Plotting's <c>LossPlot</c> writes loss.png, and the CLI adds it to every run.
/// </summary>
public interface ICheckpointReport
{
    void Write(string modelDirectory, TrainingCurves curves);
}
