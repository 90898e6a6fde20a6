using System.CommandLine;
using GenSharp.Models;
using GenSharp.Training;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp train diffusion</c>: a class-conditional DDPM on Fashion-MNIST or a folder of images, resumable.</summary>
static class TrainDiffusionCommand
{
    public static Command Create()
    {
        var d = new DiffusionTrainOptions();
        var u = new UNetConfig();
        var f = new ImageTrainFlags(DiffusionTrainer.TaskKind, d.Steps, d.BatchSize, d.LearningRate, d.CheckpointInterval);
        var baseChannels = Cli.Opt("--base-channels", "U-Net width at full resolution", u.BaseChannels);
        var mults = Cli.Opt("--channel-mults", "Width multiplier per resolution level", string.Join(",", u.ChannelMults));
        var unconditional = Cli.Opt("--unconditional", "Ignore class labels", false);
        var schedule = Cli.Opt("--beta-schedule", "cosine or linear", d.BetaSchedule);
        var cmd = f.Command("diffusion", "Train a denoising diffusion model (DDPM, ε-prediction U-Net, classifier-free guidance)", baseChannels, mults, unconditional, schedule);
        cmd.SetAction(r => Cli.Run(() => f.Common.Train(r, (dir, dev) =>
        {
            int[] channelMults;
            try { channelMults = r.GetValue(mults)!.Split(',').Select(int.Parse).ToArray(); }
            catch (FormatException) { throw new UserError($"--channel-mults '{r.GetValue(mults)}' is not a comma-separated list of integers (e.g. 1,2,2)"); }
            var config = new UNetConfig
            {
                BaseChannels = r.GetValue(baseChannels), ChannelMults = channelMults, ImageSize = r.GetValue(f.ImageSize), InChannels = f.Channels(r),
                NumClasses = r.GetValue(unconditional) ? 0 : f.CountClasses(r),
            };
            var opt = d with
            {
                Steps = r.GetValue(f.Common.Steps) ?? d.Steps, BatchSize = r.GetValue(f.BatchSize), LearningRate = r.GetValue(f.Lr), MinLr = r.GetValue(f.Lr) / 10,
                BetaSchedule = r.GetValue(schedule)!, CheckpointInterval = r.GetValue(f.CheckpointInterval), Seed = r.GetValue(f.Common.Seed) ?? d.Seed,
            };
            return DiffusionTrainer.Create(dir, config.Validate(), r.GetValue(f.Data)!, opt.Validate(), Cli.CommandLine(), dev);
        })));
        return cmd;
    }
}
