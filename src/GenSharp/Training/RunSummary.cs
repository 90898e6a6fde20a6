namespace GenSharp.Training;

/// <summary>Facts a model card needs about its run at a checkpoint.</summary>
public sealed record RunSummary(string Name, RunInfo Run, long Step, double TrainSeconds, double? LastLoss, IReadOnlyDictionary<string, double> Eval)
{
    /// <summary>The model card's line on time and loss.</summary>
    public string TimeLine =>
        $"- train time {TimeSpan.FromSeconds(TrainSeconds):hh\\:mm\\:ss} ({TrainSeconds * 1000 / Math.Max(1, Step):F0} ms/step); last logged loss {LastLoss?.ToString("F4") ?? "—"}";

    public double? Metric(string name) => Eval.TryGetValue(name, out var v) ? v : null;
}
