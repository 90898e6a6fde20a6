using System.CommandLine;
using GenSharp.Plotting;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary>The flags every <c>gensharp train</c> command shares, and the one way a training command runs: new or resumed,
/// on the <see cref="TrainingLoop"/>, with a progress bar, stopped cleanly by Ctrl-C or SIGTERM.</summary>
sealed class TrainFlags(string kind, string stepsHelp)
{
    public readonly Option<string> Out = new("--out") { Description = "Run/model directory (checkpoints, metrics, loss curve)", Required = true };
    public readonly Option<int?> Steps = Cli.Opt<int?>("--steps", $"Optimizer steps ({stepsHelp}; with --resume: extend the run)");
    public readonly Option<long?> Seed = Cli.Opt<long?>("--seed", "Seed for initialisation, batches, noise and dropout");
    public readonly Option<bool> Resume = Cli.Opt("--resume", "Continue the run in --out from its last complete checkpoint", false);
    public readonly ComputeFlags Compute = new();

    public Command Command(string name, string description, params Option[] own)
    {
        var cmd = new Command(name, description) { Out, Steps, Seed, Resume };
        Compute.AddTo(cmd);
        foreach (var o in own) cmd.Options.Add(o);
        return cmd;
    }

    /// <summary>Resumes the run in --out or creates one with <paramref name="create"/>, trains, and reports where the files are.</summary>
    public int Train(ParseResult r, Func<string, TorchSharp.torch.Device, TrainingLoop> create)
    {
        var dev = Compute.Resolve(r);
        var outDir = r.GetValue(Out)!;
        TrainingLoop loop;
        if (r.GetValue(Resume))
        {
            loop = TrainingLoop.Resume(outDir, dev, r.GetValue(Steps));
            if (loop.Task.Kind != kind)
            {
                var other = loop.Task.Kind;
                loop.Dispose();
                throw new UserError($"{outDir} holds a {other} run, not {kind}: continue it with gensharp train {other} --resume --out {outDir}");
            }
            AnsiConsole.MarkupLineInterpolated($"resuming [bold]{outDir}[/] at step {loop.Step}/{loop.Steps}");
        }
        else
        {
            loop = create(outDir, dev);
            AnsiConsole.MarkupLineInterpolated($"training [bold]{outDir}[/]: {loop.Task.ParameterCount:N0} parameters, {loop.Steps:N0} steps");
        }
        loop.Reports.Add(new LossPlot());
        using (loop)
        {
            var cancel = Cli.CancelOnSignals();
            var result = TrainingProgress.Run(loop.Step, loop.Steps, loop.Task.Unit, o => loop.Run(cancel, o));
            var parts = new List<string>();
            if (result.LastLoss is { } loss) parts.Add($"loss {loss:F4}");
            parts.AddRange(result.Eval.Select(e => $"{e.Key.Replace('_', ' ')} {Format(e.Key, e.Value)}"));
            parts.Add($"{result.MeanStepMs:F1} ms/step");
            parts.Add($"{result.ItemsPerSecond:N0} {loop.Task.Unit}/s");
            parts.Add($"wall {result.Wall:hh\\:mm\\:ss}");
            AnsiConsole.MarkupLineInterpolated($"{(result.Cancelled ? "stopped" : "finished")} at step {result.Step}: {string.Join(", ", parts)}");
            AnsiConsole.MarkupLineInterpolated($"model, checkpoint, metrics.jsonl and loss.png in [bold]{outDir}[/]{(result.Cancelled ? " — continue with --resume" : "")}");
            return result.Cancelled ? 130 : 0;
        }
    }

    public static string Format(string name, double value) => name.Contains("accuracy") ? value.ToString("P2") : value.ToString("F4");
}
