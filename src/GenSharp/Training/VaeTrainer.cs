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

namespace GenSharp.Training;

/// <summary>
/// Trains a <see cref="Vae"/> by maximising the ELBO (Kingma &amp; Welling 2014) with one reparameterised sample per
/// image, optionally with the KL weighted by β. Loss reported in nats per image (reconstruction + β·KL).
/// </summary>
public sealed class VaeTrainer : ITrainingTask
{
    public const string TaskKind = "vae";
    const string OptimizerFile = "optimizer.safetensors";

    readonly Vae _model;
    readonly ImageDataset _data;
    readonly VaeTrainOptions _opt;
    readonly Device _device;
    readonly AdamW _optimizer;
    readonly CosineSchedule _lr;

    VaeTrainer(Vae model, ImageDataset data, VaeTrainOptions opt, Device device)
    {
        (_model, _data, _opt, _device) = (model, data, opt.Validate(), device);
        _optimizer = new AdamW(model.named_parameters(), 0.9, 0.999, 1e-8, weightDecay: 0);
        _lr = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.Steps);
        _model.train();
    }

    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_opt.Steps, _opt.CheckpointInterval, 0, _opt.LogInterval);
    public string Unit => "images";
    public long ItemsPerStep => _opt.BatchSize;
    public long ParameterCount => _model.ParameterCount;
    public Vae Model => _model;

    /// <param name="heldOutClass">A class left out of training, so it can serve as the anomalies when scoring.</param>
    public static TrainingLoop Create(string dir, VaeConfig config, string dataSpec, VaeTrainOptions opt, string command, Device device, string? heldOutClass = null)
    {
        opt.Validate();
        TrainingLoop.BeginNew(dir);
        var data = ImageData.Load(dataSpec, train: true, config.ImageSize, config.InChannels);
        if (heldOutClass is not null)
        {
            config = config with { HeldOutClass = data.ClassNames[Data.ClassNames.Index(data.ClassNames, heldOutClass)] };
            data = HoldOut(data, config.HeldOutClass);
        }
        manual_seed(opt.Seed);
        var model = new Vae(config);
        model.to(device);
        return TrainingLoop.New(dir, new VaeTrainer(model, data, opt, device), new RunInfo(command, dataSpec));
    }

    internal static VaeTrainer Open(Checkpoint checkpoint, Device device, int? steps)
    {
        var opt = checkpoint.State["options"].Deserialize<VaeTrainOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var pipeline = VaePipeline.Load(checkpoint.ModelDirectory, device);
        var config = pipeline.Model.Config;
        var data = ImageData.Load(checkpoint.Run.Data, train: true, config.ImageSize, config.InChannels);
        if (config.HeldOutClass is { } held) data = HoldOut(data, held);
        var task = new VaeTrainer(pipeline.Model, data, opt, device);
        task._optimizer.Load(checkpoint.StateFile(OptimizerFile));
        return task;
    }

    // The data without one class (the VAE must never see its anomalies).
    static ImageDataset HoldOut(ImageDataset data, string className)
    {
        using (data) return data.Without(Data.ClassNames.Index(data.ClassNames, className));
    }

    public StepLosses Step(long step)
    {
        double lr = _lr.At(step);
        var (x, _) = _data.RandomBatch(_opt.Seed, step, _opt.BatchSize, _device);
        var gen = new Generator(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, 4), _device);
        var terms = VaeLoss.Terms(_model, x, gen);
        var loss = terms.NegativeElbo(_opt.Beta).mean();
        return _optimizer.Minimize(loss, lr, _opt.GradClip) with
        {
            Extra = [("reconstruction", terms.Reconstruction.mean().item<float>()), ("kl", terms.Kl.mean().item<float>())],
        };
    }

    public void Save(Checkpoint checkpoint, string modelCard)
    {
        new VaePipeline(_model).Save(checkpoint.ModelDirectory, modelCard);
        _optimizer.Save(checkpoint.StateFile(OptimizerFile));
    }

    /// <summary>Four rows of prior samples, then ten training images and their reconstructions.</summary>
    public (Tensor Images, int Columns)? Samples()
    {
        var pipeline = new VaePipeline(_model);
        _model.eval();
        var prior = pipeline.Generate(new int[40], seed: 0);
        var (x, _) = _data.Batch([.. Enumerable.Range(0, 10).Select(i => (long)i * (_data.Count / 10))], _device);
        var grid = cat([prior, x, pipeline.Reconstruct(x)]);
        _model.train();
        return (grid, 10);
    }

    public string ModelCard(RunSummary run)
    {
        var c = _model.Config;
        return $"""
        ---
        library_name: gensharp
        pipeline_tag: unconditional-image-generation
        tags: [vae, gensharp]
        ---
        # {run.Name}

        A convolutional variational autoencoder trained with GenSharp: latent {c.LatentDim}, Bernoulli decoder on pixel intensities.
        Use it to sample (`gensharp generate`), reconstruct and interpolate (`gensharp vae`), and score anomalies (`gensharp anomaly`).

        ## How it was trained
        ```
        {run.Run.Command}
        ```
        - data: {run.Run.Data} ({_data.Count:N0} images {c.ImageSize}×{c.ImageSize}{(c.HeldOutClass is { } h ? $"; class '{h}' held out as the anomaly class" : "")})
        - seed {_opt.Seed}; steps {run.Step}/{_opt.Steps}; batch {_opt.BatchSize}; AdamW lr {_opt.LearningRate} → {_opt.MinLr} (warmup {_opt.WarmupSteps}, cosine); β {_opt.Beta}
        - {c.Channels}/{2 * c.Channels} conv channels, {_model.ParameterCount:N0} parameters
        {run.TimeLine} (nats per image, −ELBO with β)
        """.Replace("\n        ", "\n") + "\n";
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _data.Dispose();
        _model.Dispose();
    }
}
