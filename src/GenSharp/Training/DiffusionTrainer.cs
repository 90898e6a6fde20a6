using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using GenSharp.Data;
using GenSharp.IO;
using GenSharp.Imaging;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Reporting;
using GenSharp.Schedulers;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Training;

/// <summary>How a diffusion model is trained; stored in its training state so a resume continues the same run.</summary>
public sealed record DiffusionTrainOptions
{
    [JsonPropertyName("steps")] public int Steps { get; init; } = 10_000;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 32;
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 5e-4;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 5e-5;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 200;
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
    [JsonPropertyName("ema_decay")] public double EmaDecay { get; init; } = 0.999;        // EMA of weights, used for sampling
    [JsonPropertyName("label_dropout")] public double LabelDropout { get; init; } = 0.1;  // classifier-free guidance training
    [JsonPropertyName("beta_schedule")] public string BetaSchedule { get; init; } = "cosine";
    [JsonPropertyName("train_timesteps")] public int TrainTimesteps { get; init; } = 1000;
    [JsonPropertyName("checkpoint_interval")] public int CheckpointInterval { get; init; } = 500;  // also redraws samples.png
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 10;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public DiffusionTrainOptions Validate()
    {
        void Require(bool ok, string m) { if (!ok) throw new ArgumentException(m); }
        Require(Steps > 0 && BatchSize > 0, "steps and batch size must be positive");
        Require(LearningRate > 0 && MinLr >= 0 && MinLr <= LearningRate, "need 0 ≤ min lr ≤ lr, lr > 0");
        Require(EmaDecay is >= 0 and < 1, "EMA decay must be in [0, 1)");
        Require(LabelDropout is >= 0 and <= 1, "label dropout must be in [0, 1]");
        Require(CheckpointInterval > 0 && LogInterval > 0, "intervals must be positive");
        _ = new NoiseSchedule(BetaSchedule, TrainTimesteps);
        return this;
    }
}

/// <summary>
/// DDPM training (Ho et al. 2020, Algorithm 1) of a class-conditional <see cref="UNet"/>: sample x_0, a
/// timestep and noise, minimise ‖ε − ε_θ(x_t, t, y)‖²; labels are dropped with probability p so the
/// same network learns the unconditional model for classifier-free guidance (Ho &amp; Salimans 2022).
/// Keeps an EMA of the weights for sampling; resumable like the LM trainer (batches, timesteps and noise
/// are functions of seed and step).
/// </summary>
public sealed class DiffusionTrainer : IDisposable
{
    const string RawWeights = "model.safetensors", OptimizerFile = "optimizer.safetensors", SamplesFile = "samples.png";

    readonly string _dir;
    readonly UNet _model, _ema;
    readonly ImageDataset _data;
    readonly string _dataSpec;
    readonly DiffusionTrainOptions _opt;
    readonly string _command;
    readonly Device _device;
    readonly NoiseSchedule _schedule;
    readonly AdamW _optimizer;
    readonly CosineSchedule _lr;
    readonly List<(long, double)> _curve = [];
    long _step;
    double _trainSeconds;

    DiffusionTrainer(string dir, UNet model, UNet ema, ImageDataset data, string dataSpec, DiffusionTrainOptions opt, string command, Device device)
    {
        (_dir, _model, _ema, _data, _dataSpec, _opt, _command, _device) = (dir, model, ema, data, dataSpec, opt.Validate(), command, device);
        _schedule = new NoiseSchedule(opt.BetaSchedule, opt.TrainTimesteps);
        _optimizer = new AdamW(model.named_parameters(), 0.9, 0.999, 1e-8, weightDecay: 0);
        _lr = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.Steps);
    }

    public long Step => _step;
    public DiffusionTrainOptions Options => _opt;
    public UNet Ema => _ema;

    public static DiffusionTrainer Create(string dir, UNetConfig config, string dataSpec, DiffusionTrainOptions opt, string command, Device device)
    {
        if (File.Exists(RunFiles.StatePath(dir)))
            throw new InvalidOperationException($"{dir} already holds a training run; pass --resume to continue it or choose another --out");
        var data = ImageData.Load(dataSpec, train: true, config.ImageSize, config.InChannels);
        if (config.NumClasses > 0 && config.NumClasses != data.ClassNames.Count)
            throw new ArgumentException($"the data has {data.ClassNames.Count} classes but the model is configured for {config.NumClasses}");
        config = config with { ClassNames = config.NumClasses > 0 ? [.. data.ClassNames] : null };
        manual_seed(opt.Seed);
        var model = new UNet(config);
        var ema = new UNet(config);
        CopyWeights(model, ema);
        model.to(device);
        ema.to(device);
        Directory.CreateDirectory(dir);
        File.Delete(Path.Combine(dir, RunFiles.MetricsLog));
        return new DiffusionTrainer(dir, model, ema, data, dataSpec, opt, command, device);
    }

    public static DiffusionTrainer Resume(string dir, Device device, int? steps = null)
    {
        var raw = Path.Combine(dir, RunFiles.StateDir, RawWeights);
        var optPath = Path.Combine(dir, RunFiles.StateDir, OptimizerFile);
        var emaPath = Path.Combine(dir, DiffusionPipeline.WeightsFile);
        var state = RunFiles.ReadState(dir, ("model_sha256", raw), ("optimizer_sha256", optPath), ("ema_sha256", emaPath));
        var opt = state["options"].Deserialize<DiffusionTrainOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var config = UNetConfig.FromJson(File.ReadAllText(Path.Combine(dir, DiffusionPipeline.ConfigFile)), Path.Combine(dir, DiffusionPipeline.ConfigFile));
        var model = new UNet(config);
        var ema = new UNet(config);
        DiffusionPipeline.LoadWeights(raw, model);
        DiffusionPipeline.LoadWeights(emaPath, ema);
        model.to(device);
        ema.to(device);
        var dataSpec = (string)state["data"]!;
        var data = ImageData.Load(dataSpec, train: true, config.ImageSize, config.InChannels);
        var trainer = new DiffusionTrainer(dir, model, ema, data, dataSpec, opt, (string)state["command"]!, device);
        trainer._optimizer.Load(optPath);
        trainer._step = (long)state["step"]!;
        trainer._trainSeconds = (double)state["train_seconds"]!;
        foreach (var node in RunFiles.TrimMetrics(dir, trainer._step))
            if (node["loss"] is { } l) trainer._curve.Add(((long)node["step"]!, (double)l));
        return trainer;
    }

    public TrainResult Run(CancellationToken cancel = default, ITrainingObserver? observer = null)
    {
        var wall = Stopwatch.StartNew();
        long start = _step;
        double msSum = 0;
        _model.train();
        while (_step < _opt.Steps && !cancel.IsCancellationRequested)
        {
            var sw = Stopwatch.StartNew();
            double lr = _lr.At(_step), loss, gradNorm;
            using (NewDisposeScope())
            {
                loss = TrainStep(lr, out gradNorm);
                UpdateEma();
            }
            _step++;
            double ms = sw.Elapsed.TotalMilliseconds;
            _trainSeconds += ms / 1000;
            msSum += ms;
            observer?.OnStep(new StepMetrics(_step, _opt.Steps, loss, lr, gradNorm, ms, _opt.BatchSize / (ms / 1000)));
            if (_step % _opt.LogInterval == 0 || _step == _opt.Steps)
            {
                _curve.Add((_step, loss));
                RunFiles.AppendMetrics(_dir, new { step = _step, loss = Math.Round(loss, 5), lr, grad_norm = Math.Round(gradNorm, 4), ms_per_step = Math.Round(ms, 1) });
            }
            if (_step % _opt.CheckpointInterval == 0 || _step == _opt.Steps || cancel.IsCancellationRequested)
            {
                SaveCheckpoint();
                observer?.OnCheckpoint(_step, _dir);
            }
        }
        long done = _step - start;
        double mean = done > 0 ? msSum / done : 0;
        return new TrainResult(_step, _curve.Count > 0 ? _curve[^1].Item2 : null, null, mean, mean > 0 ? _opt.BatchSize / (mean / 1000) : 0,
            wall.Elapsed, cancel.IsCancellationRequested && _step < _opt.Steps);
    }

    double TrainStep(double lr, out double gradNorm)
    {
        // Algorithm 1: x_0 ~ data, t ~ U{0…T−1}, ε ~ N(0, I); step on ∇‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖².
        int B = _opt.BatchSize, n = _data.Count;
        var rows = new long[B];
        var t = new long[B];
        var drop = new bool[B];
        for (int b = 0; b < B; b++)
        {
            rows[b] = (long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)_step, (ulong)b, 1) % (ulong)n);
            t[b] = (long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)_step, (ulong)b, 2) % (ulong)_opt.TrainTimesteps);
            drop[b] = SplitMix64.Hash((ulong)_opt.Seed, (ulong)_step, (ulong)b, 3) / (double)ulong.MaxValue < _opt.LabelDropout;
        }
        var (x0, y) = _data.Batch(rows, _device);
        if (_model.Config.NumClasses > 0)
            y = where(tensor(drop, device: _device), full_like(y, _model.NullClass), y);
        var gen = new Generator((ulong)SplitMix64.Hash((ulong)_opt.Seed, (ulong)_step, 4), _device);
        var noise = randn(x0.shape, generator: gen, device: _device);
        var ts = tensor(t, device: _device);
        random.manual_seed((long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)_step, 5) >> 1));   // dropout
        var loss = F.mse_loss(_model.forward(_schedule.AddNoise(x0, noise, ts), ts, y), noise);
        loss.backward();
        double value = loss.item<float>();
        if (!double.IsFinite(value)) throw Diverged($"loss became {value} at step {_step + 1}");
        gradNorm = _optimizer.StepWith(lr, _opt.GradClip);
        if (!double.IsFinite(gradNorm)) throw Diverged($"gradient norm became {gradNorm} at step {_step + 1}");
        _optimizer.ZeroGrad();
        return value;
    }

    // EMA with warm-up (the decay ramps as (1+n)/(10+n)), so early samples are not dominated by the random init.
    void UpdateEma()
    {
        double d = Math.Min(_opt.EmaDecay, (1.0 + _step) / (10.0 + _step));
        using var _ = no_grad();
        foreach (var (e, p) in _ema.parameters().Zip(_model.parameters())) e.mul_(d).add_(p, alpha: 1 - d);
        foreach (var (e, p) in _ema.buffers().Zip(_model.buffers())) e.copy_(p);
    }

    TrainingDivergedException Diverged(string what) => RunFiles.Diverged(_dir, what, "Try a lower --lr.");

    static void CopyWeights(UNet from, UNet to)
    {
        using var _ = no_grad();
        foreach (var (a, b) in to.parameters().Zip(from.parameters())) a.copy_(b);
    }

    void SaveCheckpoint()
    {
        var raw = Path.Combine(_dir, RunFiles.StateDir, RawWeights);
        var optPath = Path.Combine(_dir, RunFiles.StateDir, OptimizerFile);
        Directory.CreateDirectory(Path.Combine(_dir, RunFiles.StateDir));
        SafeTensors.Save(raw, _model.state_dict());
        _optimizer.Save(optPath);
        var pipeline = new DiffusionPipeline(_ema, _schedule);
        pipeline.Save(_dir, ModelCard());
        using (var grid = pipeline.Generate(DiffusionPipeline.OnePerClass(_ema.Config, 2), new DiffusionSampling { Sampler = "ddim", Steps = 25, Guidance = 2, Seed = 0 }))
            ImageGrid.Save(Path.Combine(_dir, SamplesFile), grid, columns: Math.Max(1, _ema.Config.NumClasses), scale: 2);
        _model.train();
        AtomicFile.WriteAllText(Path.Combine(_dir, RunFiles.MetricsSummary), new JsonObject
        {
            ["step"] = _step, ["train_loss"] = _curve.Count > 0 ? _curve[^1].Item2 : null, ["parameters"] = _ema.ParameterCount,
            ["train_seconds"] = Math.Round(_trainSeconds, 1), ["ms_per_step"] = _step > 0 ? Math.Round(_trainSeconds * 1000 / _step, 1) : null,
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        RunFiles.WriteState(_dir, new JsonObject
        {
            ["step"] = _step,
            ["train_seconds"] = _trainSeconds,
            ["rng"] = "counter-based: batches, timesteps, noise, label dropout and dropout are functions of (seed, step)",
            ["options"] = JsonSerializer.SerializeToNode(_opt),
            ["data"] = _dataSpec,
            ["command"] = _command,
        }, ("model_sha256", raw), ("optimizer_sha256", optPath), ("ema_sha256", Path.Combine(_dir, DiffusionPipeline.WeightsFile)));
        if (_curve.Count > 0) LossCurve.Save(Path.Combine(_dir, RunFiles.LossPlot), _curve, [], $"{Path.GetFileName(Path.GetFullPath(_dir))} — step {_step}");
    }

    string ModelCard()
    {
        var c = _ema.Config;
        return $"""
        ---
        library_name: gensharp
        pipeline_tag: unconditional-image-generation
        tags: [diffusion, ddpm, gensharp]
        ---
        # {Path.GetFileName(Path.GetFullPath(_dir))}

        A {(c.NumClasses > 0 ? "class-conditional " : "")}denoising diffusion model (ε-prediction U-Net) trained with GenSharp.
        Weights in `model.safetensors` are the EMA (decay {_opt.EmaDecay}); sampling: DDPM or DDIM, classifier-free guidance.

        ## How it was trained
        ```
        {_command}
        ```
        - data: {_dataSpec} ({_data.Count:N0} images {c.ImageSize}×{c.ImageSize}, {(c.InChannels == 1 ? "grayscale" : "RGB")}{(c.NumClasses > 0 ? $", classes: {string.Join(", ", c.ClassNames!)}" : "")})
        - seed {_opt.Seed}; steps {_step}/{_opt.Steps}; batch {_opt.BatchSize}; AdamW lr {_opt.LearningRate} → {_opt.MinLr} (warmup {_opt.WarmupSteps}, cosine), clip {_opt.GradClip}
        - {_opt.TrainTimesteps} timesteps, {_opt.BetaSchedule} β schedule; label dropout {_opt.LabelDropout}
        - U-Net: base {c.BaseChannels} channels × ({string.Join(", ", c.ChannelMults)}), attention at the lowest resolution, {_ema.ParameterCount:N0} parameters
        - train time {TimeSpan.FromSeconds(_trainSeconds):hh\:mm\:ss} ({_trainSeconds * 1000 / Math.Max(1, _step):F0} ms/step); last logged loss {(_curve.Count > 0 ? _curve[^1].Item2.ToString("F4") : "—")}
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
