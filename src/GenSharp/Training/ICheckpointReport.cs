namespace GenSharp.Training;

/// <summary>
/// A file drawn into every checkpoint's model folder from the run's curves. The core has no plotting dependency:
/// GenSharp.Plotting's <c>LossPlot</c> writes loss.png, and the CLI adds it to every run.
/// </summary>
public interface ICheckpointReport
{
    void Write(string modelDirectory, TrainingCurves curves);
}
