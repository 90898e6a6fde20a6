using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary>Shows a training run as a Spectre progress bar (or plain lines when output is not a terminal).</summary>
sealed class TrainingProgress : ITrainingObserver
{
    readonly ProgressTask? _task;
    readonly Queue<double> _recentMs = new();

    readonly string _unit;

    TrainingProgress(ProgressTask? task, string unit) => (_task, _unit) = (task, unit);

    /// <summary>Runs <paramref name="run"/> (a trainer's Run) with a progress bar from <paramref name="step"/> to <paramref name="total"/>; <paramref name="unit"/> names the throughput.</summary>
    public static TrainResult Run(long step, long total, string unit, Func<ITrainingObserver, TrainResult> run)
    {
        Cli.NoteConvolutionCheck();
        if (!AnsiConsole.Profile.Capabilities.Interactive)
            return run(new TrainingProgress(null, unit));
        TrainResult result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: total);
                task.Value = step;
                result = run(new TrainingProgress(task, unit));
            });
        return result;
    }

    public void OnStep(StepMetrics m)
    {
        _recentMs.Enqueue(m.StepMs);
        if (_recentMs.Count > 20) _recentMs.Dequeue();
        double ms = _recentMs.Average();
        var text = $"step {m.Step}/{m.TotalSteps} · loss {m.Loss:F3} · {ms:F1} ms/step · {m.ItemsPerSecond * m.StepMs / ms:N0} {_unit}/s";
        if (_task is not null) { _task.Description = text; _task.Value = m.Step; }
        else if (m.Step % 100 == 0) Console.WriteLine(text);
    }

    public void OnEval(EvalMetrics m) =>
        AnsiConsole.MarkupLineInterpolated($"[green]step {m.Step}[/]: {string.Join(", ", m.Values.Select(v => $"{v.Name.Replace('_', ' ')} {TrainFlags.Format(v.Name, v.Value)}"))}");
}
