using GenSharp.Training;

namespace GenSharp.Plotting;

/// <summary>loss.png in every checkpoint: each loss series against the step (add it to <see cref="TrainingLoop.Reports"/>).</summary>
public sealed class LossPlot : ICheckpointReport
{
    public const string FileName = "loss.png";

    public void Write(string modelDirectory, TrainingCurves curves) =>
        LossCurve.SaveSeries(Path.Combine(modelDirectory, FileName), curves.Series, curves.Title, "loss");
}
