using GenSharp.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>
/// Class labels in, images out (N, C, H, W) in [−1, 1]: start from Gaussian noise and apply the sampler's
/// updates with the U-Net's noise predictions, guided (Ho &amp; Salimans 2022, eq. 6). Inference only; the
/// model directory holds config.json, model.safetensors (EMA weights) and scheduler_config.json.
/// </summary>
public sealed class DiffusionPipeline(UNet model, NoiseSchedule schedule, bool clipSample = true)
{
    public const string ConfigFile = "config.json", WeightsFile = "model.safetensors", SchedulerFile = "scheduler_config.json", CardFile = "README.md";

    public UNet Model => model;
    public NoiseSchedule Schedule => schedule;

    /// <summary>Images for the class ids in <paramref name="labels"/> (ignored by an unconditional model).</summary>
    public Tensor Generate(IReadOnlyList<int> labels, DiffusionSampling sampling, CancellationToken cancel = default)
    {
        sampling.Validate(schedule.Steps);
        var c = model.Config;
        if (c.NumClasses > 0 && labels.Any(l => l < 0 || l >= c.NumClasses))
            throw new ArgumentException($"class ids must be in 0…{c.NumClasses - 1}");
        IDiffusionScheduler sampler = sampling.Sampler == "ddpm" ? new DdpmScheduler(schedule, clipSample) : new DdimScheduler(schedule, sampling.Steps, sampling.Eta, clipSample);
        var device = model.parameters().First().device;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            int n = labels.Count;
            var gen = new Generator((ulong)sampling.Seed, device);
            var x = randn([n, c.InChannels, c.ImageSize, c.ImageSize], generator: gen, device: device).DetachFromDisposeScope();   // x_T ~ N(0, I)
            var y = tensor(labels.Select(l => (long)(c.NumClasses > 0 ? l : 0)).ToArray(), device: device);
            bool guided = c.NumClasses > 0 && sampling.Guidance != 1;
            var yy = guided ? cat([y, full_like(y, model.NullClass)]) : y;
            for (int i = 0; i < sampler.Timesteps.Count; i++)
            {
                cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var eps = Epsilon(x, sampler.Timesteps[i], yy, guided, sampling.Guidance, n, device);
                var next = sampler.Step(x, eps, i, gen).DetachFromDisposeScope();
                x.Dispose();
                x = next;
            }
            return FiniteCheck.Images(x, "the diffusion model").MoveToOuterDisposeScope();
        }
        finally { model.train(wasTraining); }
    }

    // ε̃ = ε_θ(x, ∅) + w (ε_θ(x, y) − ε_θ(x, ∅)); conditional and unconditional run as one batch.
    Tensor Epsilon(Tensor x, int t, Tensor yy, bool guided, double w, int n, Device device)
    {
        var xx = guided ? cat([x, x]) : x;
        var ts = full([xx.shape[0]], t, int64, device: device);
        var eps = model.forward(xx, ts, yy);
        if (!guided) return eps;
        var (cond, uncond) = (eps.narrow(0, 0, n), eps.narrow(0, n, n));
        return uncond + w * (cond - uncond);
    }

    /// <summary><paramref name="perClass"/> labels for each class in turn: 0, 1, …, 9, 0, 1, … (one grid row per repetition).</summary>
    public static int[] OnePerClass(UNetConfig c, int perClass) =>
        Enumerable.Range(0, perClass * Math.Max(1, c.NumClasses)).Select(i => c.NumClasses > 0 ? i % c.NumClasses : 0).ToArray();

    public void Save(string dir, string? modelCard = null)
    {
        ModelDirectory.SaveModule(dir, model, model.Config.ToJson(), modelCard);
        AtomicFile.WriteAllText(Path.Combine(dir, SchedulerFile), new SchedulerConfig(schedule, clipSample).ToJson());
    }

    public static DiffusionPipeline Load(string dir, Device? device = null) => Load(ModelDirectory.ReadConfigFile(dir), device);

    public static DiffusionPipeline Load(ModelConfigFile config, Device? device = null)
    {
        var schedPath = Path.Combine(config.Directory, SchedulerFile);
        if (!File.Exists(schedPath)) throw new ModelLoadException($"{schedPath}: file not found");
        SchedulerConfig scheduler;
        try { scheduler = SchedulerConfig.Parse(File.ReadAllText(schedPath), schedPath); }
        catch (ArgumentException e) { throw new ModelLoadException(e.Message); }
        return new DiffusionPipeline(ModelDirectory.LoadModule<UNetConfig, UNet>(config, "U-Net", c => c.Validate(), c => new UNet(c), device), scheduler.Schedule, scheduler.ClipSample);
    }
}
