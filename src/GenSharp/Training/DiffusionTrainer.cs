using GenSharp.Optim;
using GenSharp.Numerics;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using GenSharp.Data;
using GenSharp.IO;
using GenSharp.Imaging;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Schedulers;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Training;

/// <summary>
/// DDPM training (Ho et al. 2020, Algorithm 1) of a class-conditional <see cref="UNet"/>: sample x_0, a
/// timestep and noise, minimise ‖ε − ε_θ(x_t, t, y)‖²; labels are dropped with probability p so the
/// same network learns the unconditional model for classifier-free guidance (Ho &amp; Salimans 2022).
/// Keeps an EMA of the weights for sampling. The <see cref="TrainingLoop"/> runs it.
/// </summary>
public sealed class DiffusionTrainer : ITrainingTask
{
    public const string TaskKind = "diffusion";
    const string RawWeights = "model.safetensors", OptimizerFile = "optimizer.safetensors";

    readonly UNet _model, _ema;
    readonly ImageDataset _data;
    readonly DiffusionTrainOptions _opt;
    readonly Device _device;
    readonly NoiseSchedule _schedule;
    readonly AdamW _optimizer;
    readonly CosineSchedule _lr;

    DiffusionTrainer(UNet model, UNet ema, ImageDataset data, DiffusionTrainOptions opt, Device device)
    {
        (_model, _ema, _data, _opt, _device) = (model, ema, data, opt.Validate(), device);
        _schedule = new NoiseSchedule(opt.BetaSchedule, opt.TrainTimesteps);
        _optimizer = new AdamW(model.named_parameters(), 0.9, 0.999, 1e-8, weightDecay: 0);
        _lr = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.Steps);
        _model.train();
    }

    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_opt.Steps, _opt.CheckpointInterval, 0, _opt.LogInterval);
    public string Unit => "images";
    public long ItemsPerStep => _opt.BatchSize;
    public long ParameterCount => _ema.ParameterCount;
    public DiffusionTrainOptions DiffusionOptions => _opt;
    public UNet Ema => _ema;

    public static TrainingLoop Create(string dir, UNetConfig config, string dataSpec, DiffusionTrainOptions opt, string command, Device device)
    {
        opt.Validate();
        TrainingLoop.BeginNew(dir);
        var data = ImageData.Load(dataSpec, train: true, config.ImageSize, config.InChannels);
        if (config.NumClasses > 0 && config.NumClasses != data.ClassNames.Count)
            throw new ArgumentException($"the data has {data.ClassNames.Count} classes but the model is configured for {config.NumClasses}");
        config = config with { ClassNames = config.NumClasses > 0 ? [.. data.ClassNames] : null };
        manual_seed(opt.Seed);
        var model = new UNet(config);
        var ema = new UNet(config);
        Optim.Ema.Copy(model, ema);
        model.to(device);
        ema.to(device);
        var task = new DiffusionTrainer(model, ema, data, opt, device);
        return TrainingLoop.New(dir, task, new RunInfo(command, dataSpec));
    }

    internal static DiffusionTrainer Open(Checkpoint checkpoint, Device device, int? steps)
    {
        var opt = checkpoint.State["options"].Deserialize<DiffusionTrainOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var ema = DiffusionPipeline.Load(checkpoint.ModelDirectory).Model;
        var model = new UNet(ema.Config);
        ModelDirectory.LoadStateDict(checkpoint.StateFile(RawWeights), model);
        model.to(device);
        ema.to(device);
        var data = ImageData.Load(checkpoint.Run.Data, train: true, ema.Config.ImageSize, ema.Config.InChannels);
        var task = new DiffusionTrainer(model, ema, data, opt, device);
        task._optimizer.Load(checkpoint.StateFile(OptimizerFile));
        return task;
    }

    public StepLosses Step(long step)
    {
        // Algorithm 1: x_0 ~ data, t ~ U{0…T−1}, ε ~ N(0, I); step on ∇‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖².
        int B = _opt.BatchSize;
        double lr = _lr.At(step);
        var t = new long[B];
        var drop = new bool[B];
        for (int b = 0; b < B; b++)
        {
            t[b] = (long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, (ulong)b, 2) % (ulong)_opt.TrainTimesteps);
            drop[b] = SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, (ulong)b, 3) / (double)ulong.MaxValue < _opt.LabelDropout;
        }
        var (x0, y) = _data.RandomBatch(_opt.Seed, step, B, _device);
        if (_model.Config.NumClasses > 0)
            y = where(tensor(drop, device: _device), full_like(y, _model.NullClass), y);
        var gen = new Generator((ulong)SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, 4), _device);
        var noise = randn(x0.shape, generator: gen, device: _device);
        var ts = tensor(t, device: _device);
        random.manual_seed((long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, 5) >> 1));   // dropout
        var loss = F.mse_loss(_model.forward(_schedule.AddNoise(x0, noise, ts), ts, y), noise);
        var losses = _optimizer.Minimize(loss, lr, _opt.GradClip);
        Optim.Ema.Update(_ema, _model, _opt.EmaDecay, step);
        return losses;
    }

    public void Save(Checkpoint checkpoint, string modelCard)
    {
        SafeTensors.Save(checkpoint.StateFile(RawWeights), _model.state_dict());
        _optimizer.Save(checkpoint.StateFile(OptimizerFile));
        new DiffusionPipeline(_ema, _schedule).Save(checkpoint.ModelDirectory, modelCard);
    }

    public (Tensor Images, int Columns)? Samples()
    {
        var pipeline = new DiffusionPipeline(_ema, _schedule);
        var images = pipeline.Generate(DiffusionPipeline.OnePerClass(_ema.Config, 2), new DiffusionSampling { Sampler = "ddim", Steps = 25, Guidance = 2, Seed = 0 });
        _model.train();
        return (images, Math.Max(1, _ema.Config.NumClasses));
    }

    public string ModelCard(RunSummary run)
    {
        var c = _ema.Config;
        return $"""
        ---
        library_name: gensharp
        pipeline_tag: unconditional-image-generation
        tags: [diffusion, ddpm, gensharp]
        ---
        # {run.Name}

        A {(c.NumClasses > 0 ? "class-conditional " : "")}denoising diffusion model (ε-prediction U-Net) trained with GenSharp.
        Weights in `model.safetensors` are the EMA (decay {_opt.EmaDecay}); sampling: DDPM or DDIM, classifier-free guidance.

        ## How it was trained
        ```
        {run.Run.Command}
        ```
        - data: {run.Run.Data} ({_data.Count:N0} images {c.ImageSize}×{c.ImageSize}, {(c.InChannels == 1 ? "grayscale" : "RGB")}{(c.NumClasses > 0 ? $", classes: {string.Join(", ", c.ClassNames!)}" : "")})
        - seed {_opt.Seed}; steps {run.Step}/{_opt.Steps}; batch {_opt.BatchSize}; AdamW lr {_opt.LearningRate} → {_opt.MinLr} (warmup {_opt.WarmupSteps}, cosine), clip {_opt.GradClip}
        - {_opt.TrainTimesteps} timesteps, {_opt.BetaSchedule} β schedule; label dropout {_opt.LabelDropout}
        - U-Net: base {c.BaseChannels} channels × ({string.Join(", ", c.ChannelMults)}), attention at the lowest resolution, {_ema.ParameterCount:N0} parameters
        {run.TimeLine}
        """.Replace("\n        ", "\n") + "\n";
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _data.Dispose();
        _model.Dispose();
        _ema.Dispose();
    }
}
