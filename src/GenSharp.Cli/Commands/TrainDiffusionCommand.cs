using System.CommandLine;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp train diffusion</c>: a class-conditional DDPM on Fashion-MNIST or a folder of images, resumable.</summary>
static class TrainDiffusionCommand
{
    public static Command Create()
    {
        var data = Cli.Opt("--data", "fashion-mnist (Debian's dataset-fashion-mnist) or a folder of PNG/JPEG images (subfolders = classes)", ImageData.FashionMnistName);
        var output = new Option<string>("--out") { Description = "Run/model directory", Required = true };
        var d = new DiffusionTrainOptions();
        var u = new UNetConfig();
        var steps = Cli.Opt<int?>("--steps", $"Optimizer steps (default {d.Steps}; with --resume: extend the run)");
        var batch = Cli.Opt("--batch-size", "Images per step", d.BatchSize);
        var lr = Cli.Opt("--lr", "Peak learning rate (warmup, then cosine to lr/10)", d.LearningRate);
        var baseChannels = Cli.Opt("--base-channels", "U-Net width at full resolution", u.BaseChannels);
        var mults = Cli.Opt("--channel-mults", "Width multiplier per resolution level", string.Join(",", u.ChannelMults));
        var size = Cli.Opt("--image-size", "Image size for folders (Fashion-MNIST is 28)", u.ImageSize);
        var rgb = Cli.Opt("--rgb", "Train on colour images (folders only)", false);
        var unconditional = Cli.Opt("--unconditional", "Ignore class labels", false);
        var schedule = Cli.Opt("--beta-schedule", "cosine or linear", d.BetaSchedule);
        var checkpoint = Cli.Opt("--checkpoint-interval", "Steps between checkpoints and sample grids", d.CheckpointInterval);
        var seed = Cli.Opt("--seed", "Seed for initialisation, batches and noise", d.Seed);
        var resume = Cli.Opt("--resume", "Continue the run in --out from its last checkpoint", false);
        var device = Cli.DeviceOption();
        var cmd = new Command("diffusion", "Train a denoising diffusion model (DDPM, ε-prediction U-Net, classifier-free guidance)")
        {
            data, output, steps, batch, lr, baseChannels, mults, size, rgb, unconditional, schedule, checkpoint, seed, resume, device,
        };
        cmd.SetAction(r => Cli.Run(() =>
        {
            var dev = Cli.ResolveDevice(r.GetValue(device)!);
            var outDir = r.GetValue(output)!;
            DiffusionTrainer trainer;
            if (r.GetValue(resume))
            {
                trainer = DiffusionTrainer.Resume(outDir, dev, r.GetValue(steps));
                AnsiConsole.MarkupLineInterpolated($"resuming [bold]{outDir}[/] at step {trainer.Step}/{trainer.Options.Steps}");
            }
            else
            {
                int[] channelMults;
                try { channelMults = r.GetValue(mults)!.Split(',').Select(int.Parse).ToArray(); }
                catch (FormatException) { throw new UserError($"--channel-mults '{r.GetValue(mults)}' is not a comma-separated list of integers (e.g. 1,2,2)"); }
                var spec = r.GetValue(data)!;
                var config = new UNetConfig
                {
                    BaseChannels = r.GetValue(baseChannels), ChannelMults = channelMults, ImageSize = r.GetValue(size), InChannels = r.GetValue(rgb) ? 3 : 1,
                    NumClasses = r.GetValue(unconditional) ? 0 : CountClasses(spec),
                };
                var opt = d with
                {
                    Steps = r.GetValue(steps) ?? d.Steps, BatchSize = r.GetValue(batch), LearningRate = r.GetValue(lr), MinLr = r.GetValue(lr) / 10,
                    BetaSchedule = r.GetValue(schedule)!, CheckpointInterval = r.GetValue(checkpoint), Seed = r.GetValue(seed),
                };
                var command = Cli.CommandLine();
                trainer = DiffusionTrainer.Create(outDir, config.Validate(), spec, opt.Validate(), command, dev);
                AnsiConsole.MarkupLineInterpolated($"training [bold]{outDir}[/]: U-Net {trainer.Ema.ParameterCount:N0} parameters on {spec}");
            }
            using (trainer)
            {
                using var cts = Cli.CancelOnSignals();
                var result = TrainingProgress.Run(trainer.Step, trainer.Options.Steps, "img/s", o => trainer.Run(cts.Token, o));
                AnsiConsole.MarkupLineInterpolated(
                    $"{(result.Cancelled ? "stopped" : "finished")} at step {result.Step}: loss {result.TrainLoss:F4}, {result.MeanStepMs:F0} ms/step, wall {result.Wall:hh\\:mm\\:ss}");
                AnsiConsole.MarkupLineInterpolated($"model, samples.png, metrics.jsonl and loss.png in [bold]{outDir}[/]{(result.Cancelled ? " — continue with --resume" : "")}");
                return result.Cancelled ? 130 : 0;
            }
        }));
        return cmd;
    }

    // The class count must be known before the model is built: 10 for Fashion-MNIST, else the folder's subfolders.
    static int CountClasses(string spec)
    {
        if (spec.Equals(ImageData.FashionMnistName, StringComparison.OrdinalIgnoreCase)) return FashionMnist.ClassNames.Count;
        if (!Directory.Exists(spec)) throw new UserError($"--data {spec}: not fashion-mnist and not an existing folder");
        int n = Directory.GetDirectories(spec).Length;
        return n > 1 ? n : 0;
    }
}
