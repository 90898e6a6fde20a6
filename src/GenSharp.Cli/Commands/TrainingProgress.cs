using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary>Shows a training run as a Spectre progress bar (or plain lines when output is not a terminal).</summary>
sealed class TrainingProgress : ITrainingObserver
{
    readonly ProgressTask? _task;
    readonly Queue<double> _recentMs = new();

    TrainingProgress(ProgressTask? task) => _task = task;

    public static TrainResult Run(LmTrainer trainer, CancellationToken cancel)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
            return trainer.Run(cancel, new TrainingProgress(null));
        TrainResult result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: trainer.Options.Steps);
                task.Value = trainer.Step;
                result = trainer.Run(cancel, new TrainingProgress(task));
            });
        return result;
    }

    public void OnStep(StepMetrics m)
    {
        _recentMs.Enqueue(m.StepMs);
        if (_recentMs.Count > 20) _recentMs.Dequeue();
        double ms = _recentMs.Average();
        var text = $"step {m.Step}/{m.TotalSteps} · loss {m.Loss:F3} · {ms:F1} ms/step · {m.TokensPerSecond * m.StepMs / ms:N0} tok/s";
        if (_task is not null) { _task.Description = text; _task.Value = m.Step; }
        else if (m.Step % 100 == 0) Console.WriteLine(text);
    }

    public void OnEval(EvalMetrics m) =>
        AnsiConsole.MarkupLineInterpolated($"[green]step {m.Step}[/]: train loss {m.TrainLoss:F4}, val loss {m.ValLoss:F4}");
}
