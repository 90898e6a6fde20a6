namespace GenSharp.Training;

/// <summary>How a call of <see cref="TrainingLoop.Run"/> ended.</summary>
/// <param name="LastLoss">The last logged training loss.</param>
/// <param name="Eval">The last evaluation's metrics (empty when there was none).</param>
public sealed record TrainResult(long Step, double? LastLoss, IReadOnlyDictionary<string, double> Eval, double MeanStepMs, double ItemsPerSecond, TimeSpan Wall, bool Cancelled)
{
    /// <summary>The evaluated training loss when the task evaluates one, else the last logged loss.</summary>
    public double? TrainLoss => Eval.TryGetValue("train_loss", out var v) ? v : LastLoss;
    public double? ValLoss => Eval.TryGetValue("val_loss", out var v) ? v : null;
}
