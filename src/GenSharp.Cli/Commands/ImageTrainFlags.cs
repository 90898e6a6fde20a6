using System.CommandLine;
using GenSharp.Data;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary>The flags every image trainer shares (data, output, steps, batch, lr, size, seed, resume, device) and its run loop.</summary>
sealed class ImageTrainFlags(int steps, int batchSize, double lr, int checkpointInterval, long seed)
{
    public readonly Option<string> Data = Cli.Opt("--data", "fashion-mnist (Debian's dataset-fashion-mnist) or a folder of PNG/JPEG images (subfolders = classes)", ImageData.FashionMnistName);
    public readonly Option<string> Out = new("--out") { Description = "Run/model directory", Required = true };
    public readonly Option<int?> Steps = Cli.Opt<int?>("--steps", $"Optimizer steps (default {steps}; with --resume: extend the run)");
    public readonly Option<int> BatchSize = Cli.Opt("--batch-size", "Images per step", batchSize);
    public readonly Option<double> Lr = Cli.Opt("--lr", "Peak learning rate", lr);
    public readonly Option<int> ImageSize = Cli.Opt("--image-size", "Image size for folders (Fashion-MNIST is 28)", 28);
    public readonly Option<bool> Rgb = Cli.Opt("--rgb", "Train on colour images (folders only)", false);
    public readonly Option<int> CheckpointInterval = Cli.Opt("--checkpoint-interval", "Steps between checkpoints and sample grids", checkpointInterval);
    public readonly Option<long> Seed = Cli.Opt("--seed", "Seed for initialisation, batches and noise", seed);
    public readonly Option<bool> Resume = Cli.Opt("--resume", "Continue the run in --out from its last checkpoint", false);
    public readonly Option<string> Device = Cli.DeviceOption();

    public Command Command(string name, string description, params Option[] own)
    {
        var cmd = new Command(name, description) { Data, Out, Steps, BatchSize, Lr, ImageSize, Rgb, CheckpointInterval, Seed, Resume, Device };
        foreach (var o in own) cmd.Options.Add(o);
        return cmd;
    }

    /// <summary>Resumes or creates the run, trains with a progress bar, and reports where the files are.</summary>
    public int Train(ParseResult r, Func<string, TorchSharp.torch.Device, int?, ImageRun> resume, Func<string, TorchSharp.torch.Device, ImageRun> create)
    {
        var dev = Cli.ResolveDevice(r.GetValue(Device)!);
        var outDir = r.GetValue(Out)!;
        ImageRun run;
        if (r.GetValue(Resume))
        {
            run = resume(outDir, dev, r.GetValue(Steps));
            AnsiConsole.MarkupLineInterpolated($"resuming [bold]{outDir}[/] at step {run.Step}/{run.Steps}");
        }
        else
        {
            run = create(outDir, dev);
            AnsiConsole.MarkupLineInterpolated($"training [bold]{outDir}[/]: {run.Task.ParameterCount:N0} parameters on {r.GetValue(Data)}");
        }
        using (run)
        {
            using var cts = Cli.CancelOnSignals();
            var result = TrainingProgress.Run(run.Step, run.Steps, "img/s", o => run.Run(cts.Token, o));
            AnsiConsole.MarkupLineInterpolated(
                $"{(result.Cancelled ? "stopped" : "finished")} at step {result.Step}: loss {result.TrainLoss:F4}, {result.MeanStepMs:F0} ms/step, wall {result.Wall:hh\\:mm\\:ss}");
            AnsiConsole.MarkupLineInterpolated($"model, samples.png, metrics.jsonl and loss.png in [bold]{outDir}[/]{(result.Cancelled ? " — continue with --resume" : "")}");
            return result.Cancelled ? 130 : 0;
        }
    }

    public int Channels(ParseResult r) => r.GetValue(Rgb) ? 3 : 1;

    // The class count must be known before the model is built: 10 for Fashion-MNIST, else the folder's subfolders.
    public int CountClasses(ParseResult r)
    {
        var spec = r.GetValue(Data)!;
        if (spec.Equals(ImageData.FashionMnistName, StringComparison.OrdinalIgnoreCase)) return FashionMnist.ClassNames.Count;
        if (!Directory.Exists(spec)) throw new UserError($"--data {spec}: not fashion-mnist and not an existing folder");
        int n = Directory.GetDirectories(spec).Length;
        return n > 1 ? n : 0;
    }
}
