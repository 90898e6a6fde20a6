using System.CommandLine;
using GenSharp.Models;
using GenSharp.Training;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp train vae</c>: a convolutional VAE, optionally with one class held out for anomaly scoring.</summary>
static class TrainVaeCommand
{
    public static Command Create()
    {
        var d = new VaeTrainOptions();
        var v = new VaeConfig();
        var f = new ImageTrainFlags(VaeTrainer.TaskKind, d.Steps, d.BatchSize, d.LearningRate, d.CheckpointInterval);
        var latent = Cli.Opt("--latent-dim", "Size of the latent code z", v.LatentDim);
        var channels = Cli.Opt("--channels", "Width of the first convolution (the second has twice as many)", v.Channels);
        var beta = Cli.Opt("--beta", "Weight of the KL term (1 = the ELBO; β-VAE otherwise)", d.Beta);
        var holdOut = Cli.Opt<string?>("--hold-out", "Leave this class out of training, to score it as the anomaly (e.g. trouser)");
        var cmd = f.Command("vae", "Train a variational autoencoder (ELBO with β) for sampling, reconstruction, interpolation and anomaly scores",
            latent, channels, beta, holdOut);
        cmd.SetAction(r => Cli.Run(() => f.Common.Train(r, (dir, dev) =>
        {
            var config = new VaeConfig { LatentDim = r.GetValue(latent), Channels = r.GetValue(channels), ImageSize = r.GetValue(f.ImageSize), InChannels = f.Channels(r) };
            var opt = d with
            {
                Steps = r.GetValue(f.Common.Steps) ?? d.Steps, BatchSize = r.GetValue(f.BatchSize), LearningRate = r.GetValue(f.Lr), MinLr = r.GetValue(f.Lr) / 20,
                Beta = r.GetValue(beta), CheckpointInterval = r.GetValue(f.CheckpointInterval), Seed = r.GetValue(f.Common.Seed) ?? d.Seed,
            };
            return VaeTrainer.Create(dir, config.Validate(), r.GetValue(f.Data)!, opt.Validate(), Cli.CommandLine(), dev, r.GetValue(holdOut));
        })));
        return cmd;
    }
}
