using GenSharp.Optim;
using GenSharp.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using GenSharp.Data;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Pipelines;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Training;

/// <summary>
/// Adversarial training (Goodfellow et al. 2014) of <see cref="GanGenerator"/> against a spectrally normalised,
/// projection-conditioned <see cref="GanDiscriminator"/>: one D step then one G step per iteration, with the hinge
/// loss (Lim &amp; Ye 2017; Miyato et al. 2018) or the non-saturating loss, plus a mode-seeking term against
/// conditional mode collapse; an EMA of G is what gets saved.
/// </summary>
public sealed class GanTrainer : ITrainingTask
{
    public const string TaskKind = "gan";
    const string GeneratorFile = "generator.safetensors", DiscriminatorFile = "discriminator.safetensors",
        GOptimizerFile = "generator_optimizer.safetensors", DOptimizerFile = "discriminator_optimizer.safetensors";

    readonly GanGenerator _g, _ema;
    readonly GanDiscriminator _d;
    readonly ImageDataset _data;
    readonly GanTrainOptions _opt;
    readonly Device _device;
    readonly AdamW _optG, _optD;

    GanTrainer(GanGenerator g, GanGenerator ema, GanDiscriminator d, ImageDataset data, GanTrainOptions opt, Device device)
    {
        (_g, _ema, _d, _data, _opt, _device) = (g, ema, d, data, opt.Validate(), device);
        _optG = new AdamW(g.named_parameters(), 0.5, 0.999, 1e-8, weightDecay: 0);
        _optD = new AdamW(d.named_parameters(), 0.5, 0.999, 1e-8, weightDecay: 0);
        _g.train();
        _d.train();
    }

    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_opt.Steps, _opt.CheckpointInterval, 0, _opt.LogInterval);
    public string Unit => "images";
    public long ItemsPerStep => _opt.BatchSize;
    public long ParameterCount => _g.ParameterCount;
    public GanGenerator Ema => _ema;

    public static TrainingLoop Create(string dir, GanConfig config, string dataSpec, GanTrainOptions opt, string command, Device device)
    {
        opt.Validate();
        TrainingLoop.BeginNew(dir);
        var data = ImageData.Load(dataSpec, train: true, config.ImageSize, config.InChannels);
        if (config.NumClasses > 0 && config.NumClasses != data.ClassNames.Count)
            throw new ArgumentException($"the data has {data.ClassNames.Count} classes but the model is configured for {config.NumClasses}");
        config = config with { ClassNames = config.NumClasses > 0 ? [.. data.ClassNames] : null };
        manual_seed(opt.Seed);
        var (g, ema, d) = (new GanGenerator(config), new GanGenerator(config), new GanDiscriminator(config));
        Optim.Ema.Copy(g, ema);
        foreach (var m in new nn.Module[] { g, ema, d }) m.to(device);
        return TrainingLoop.New(dir, new GanTrainer(g, ema, d, data, opt, device), new RunInfo(command, dataSpec));
    }

    internal static GanTrainer Open(Checkpoint checkpoint, Device device, int? steps)
    {
        var opt = checkpoint.State["options"].Deserialize<GanTrainOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var ema = GanPipeline.Load(checkpoint.ModelDirectory).Model;
        var (g, d) = (new GanGenerator(ema.Config), new GanDiscriminator(ema.Config));
        ModelDirectory.LoadStateDict(checkpoint.StateFile(GeneratorFile), g);
        ModelDirectory.LoadStateDict(checkpoint.StateFile(DiscriminatorFile), d);
        foreach (var m in new nn.Module[] { g, ema, d }) m.to(device);
        var data = ImageData.Load(checkpoint.Run.Data, train: true, ema.Config.ImageSize, ema.Config.InChannels);
        var task = new GanTrainer(g, ema, d, data, opt, device);
        task._optG.Load(checkpoint.StateFile(GOptimizerFile));
        task._optD.Load(checkpoint.StateFile(DOptimizerFile));
        return task;
    }

    public StepLosses Step(long step)
    {
        int B = _opt.BatchSize, k = _g.Config.NumClasses;
        var (x, y) = _data.RandomBatch(_opt.Seed, step, B, _device);
        var gen = new Generator(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, 4), _device);
        // Generated images come in pairs with the same class and different z, for the mode-seeking term.
        var z = randn([B, _g.Config.LatentDim], generator: gen, device: _device);
        var half = k > 0 ? randint(k, [B / 2], generator: gen, device: _device) : zeros(B / 2, int64, device: _device);
        var yFake = cat([half, half]);
        if (k == 0) y = zeros_like(y);
        var fake = _g.forward(z, yFake);

        // Discriminator: real images up, generated ones down (G's output detached).
        var dReal = _d.forward(x, y);
        var dFake = _d.forward(fake.detach(), yFake);
        var lossD = _opt.Loss == "hinge"
            ? F.relu(1 - dReal).mean() + F.relu(1 + dFake).mean()
            : F.softplus(-dReal).mean() + F.softplus(dFake).mean();
        lossD.backward();
        double gradD = _optD.StepWith(_opt.LearningRate, 0);
        _optD.ZeroGrad();

        // Generator: through the updated discriminator.
        var dGen = _d.forward(fake, yFake);
        var lossG = _opt.Loss == "hinge" ? -dGen.mean() : F.softplus(-dGen).mean();
        double ratio = 0;
        if (_opt.ModeSeeking > 0)
        {
            // Mode seeking (Mao et al. 2019, eq. 3): maximise |G(z₁,y) − G(z₂,y)| / |z₁ − z₂| so that G cannot map every z
            // of a class to one image (conditional mode collapse); minimised as λ / (ratio + ε).
            int h = B / 2;
            var r = (fake.narrow(0, 0, h) - fake.narrow(0, h, h)).abs().mean() / (z.narrow(0, 0, h) - z.narrow(0, h, h)).abs().mean();
            ratio = r.item<float>();
            lossG = lossG + _opt.ModeSeeking / (r + 1e-5);
        }
        lossG.backward();
        double gradG = _optG.StepWith(_opt.LearningRate, 0);
        _optG.ZeroGrad();
        _optD.ZeroGrad();
        Optim.Ema.Update(_ema, _g, _opt.EmaDecay, step);
        return new StepLosses(lossD.item<float>(), gradD, _opt.LearningRate,
            ("g_loss", lossG.item<float>()), ("diversity", ratio), ("d_real", dReal.mean().item<float>()), ("d_fake", dFake.mean().item<float>()), ("g_grad_norm", gradG));
    }

    public void Save(Checkpoint checkpoint, string modelCard)
    {
        SafeTensors.Save(checkpoint.StateFile(GeneratorFile), _g.state_dict());
        SafeTensors.Save(checkpoint.StateFile(DiscriminatorFile), _d.state_dict());
        _optG.Save(checkpoint.StateFile(GOptimizerFile));
        _optD.Save(checkpoint.StateFile(DOptimizerFile));
        new GanPipeline(_ema).Save(checkpoint.ModelDirectory, modelCard);
    }

    /// <summary>Four samples per class (one per class in each row), from the EMA generator with fixed noise.</summary>
    public (Tensor Images, int Columns)? Samples()
    {
        int k = Math.Max(1, _ema.Config.NumClasses);
        var labels = Enumerable.Range(0, 4 * k).Select(i => _ema.Config.NumClasses > 0 ? i % k : 0).ToArray();
        return (new GanPipeline(_ema).Generate(labels, seed: 0), k);
    }

    public string ModelCard(RunSummary run)
    {
        var c = _ema.Config;
        return $"""
        ---
        library_name: gensharp
        pipeline_tag: unconditional-image-generation
        tags: [gan, dcgan, gensharp]
        ---
        # {run.Name}

        A {(c.NumClasses > 0 ? "class-conditional " : "")}DCGAN-class generator trained with GenSharp against a spectrally normalised{(c.NumClasses > 0 ? ", projection" : "")} discriminator.
        Weights in `model.safetensors` are the EMA of the generator (decay {_opt.EmaDecay}); sample with `gensharp generate`.

        ## How it was trained
        ```
        {run.Run.Command}
        ```
        - data: {run.Run.Data} ({_data.Count:N0} images {c.ImageSize}×{c.ImageSize}{(c.NumClasses > 0 ? $", classes: {string.Join(", ", c.ClassNames!)}" : "")})
        - seed {_opt.Seed}; steps {run.Step}/{_opt.Steps}; batch {_opt.BatchSize}; Adam lr {_opt.LearningRate}, β (0.5, 0.999); {_opt.Loss} loss, mode-seeking λ {_opt.ModeSeeking}
        - latent {c.LatentDim}; widths {c.Channels}/{2 * c.Channels}/{4 * c.Channels}; generator {_g.ParameterCount:N0} parameters
        {run.TimeLine} (discriminator loss)
        """.Replace("\n        ", "\n") + "\n";
    }

    public void Dispose()
    {
        _optG.Dispose();
        _optD.Dispose();
        _data.Dispose();
        _g.Dispose();
        _ema.Dispose();
        _d.Dispose();
    }
}
