using System.CommandLine;
using GenSharp.Models;
using GenSharp.Training;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp train gan</c>: a class-conditional DCGAN-class GAN with a spectrally normalised discriminator.</summary>
static class TrainGanCommand
{
    public static Command Create()
    {
        var d = new GanTrainOptions();
        var g = new GanConfig();
        var f = new ImageTrainFlags(GanTrainer.TaskKind, d.Steps, d.BatchSize, d.LearningRate, d.CheckpointInterval);
        var latent = Cli.Opt("--latent-dim", "Size of the noise vector z", g.LatentDim);
        var channels = Cli.Opt("--channels", "Width at full resolution (×2, ×4 below)", g.Channels);
        var loss = Cli.Opt("--loss", "hinge or non-saturating", d.Loss);
        var unconditional = Cli.Opt("--unconditional", "Ignore class labels", false);
        var cmd = f.Command("gan", "Train a generative adversarial network (DCGAN-class, spectral norm, EMA generator, class-conditional)",
            latent, channels, loss, unconditional);
        cmd.SetAction(r => Cli.Run(() => f.Common.Train(r, (dir, dev) =>
        {
            var config = new GanConfig
            {
                LatentDim = r.GetValue(latent), Channels = r.GetValue(channels), ImageSize = r.GetValue(f.ImageSize), InChannels = f.Channels(r),
                NumClasses = r.GetValue(unconditional) ? 0 : f.CountClasses(r),
            };
            var opt = d with
            {
                Steps = r.GetValue(f.Common.Steps) ?? d.Steps, BatchSize = r.GetValue(f.BatchSize), LearningRate = r.GetValue(f.Lr), Loss = r.GetValue(loss)!,
                CheckpointInterval = r.GetValue(f.CheckpointInterval), Seed = r.GetValue(f.Common.Seed) ?? d.Seed,
            };
            return GanTrainer.Create(dir, config.Validate(), r.GetValue(f.Data)!, opt.Validate(), Cli.CommandLine(), dev);
        })));
        return cmd;
    }
}
