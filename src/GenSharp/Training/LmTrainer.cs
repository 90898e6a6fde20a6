using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Reporting;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Training;

/// <summary>Loss became NaN or infinite; the run stopped and the last checkpoint was left untouched.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>What the model card records about how a run was started.</summary>
public sealed record RunInfo(string Command, string DataPath, string Tokenizer, string Preset);

public sealed record StepMetrics(long Step, long TotalSteps, double Loss, double Lr, double GradNorm, double StepMs, double TokensPerSecond);
public sealed record EvalMetrics(long Step, double TrainLoss, double ValLoss);
public sealed record TrainResult(long Step, double? TrainLoss, double? ValLoss, double MeanStepMs, double TokensPerSecond, TimeSpan Wall, bool Cancelled);

/// <summary>Receives progress from <see cref="LmTrainer"/>; every method is optional.</summary>
public interface ITrainingObserver
{
    void OnStep(StepMetrics m) { }
    void OnEval(EvalMetrics m) { }
    void OnCheckpoint(long step, string dir) { }
}

/// <summary>
/// Maximum-likelihood pretraining of a <see cref="LlamaForCausalLM"/> on a <see cref="TokenDataset"/>:
/// AdamW, warmup + cosine schedule, clipping, accumulation, periodic evaluation and checkpoints
/// that a killed run resumes from bit-identically on CPU.
/// </summary>
public sealed class LmTrainer : IDisposable
{
    public const string StateDir = RunFiles.StateDir, StateFile = RunFiles.StateFile, OptimizerFile = "optimizer.safetensors";
    public const string MetricsLog = RunFiles.MetricsLog, MetricsSummary = RunFiles.MetricsSummary, LossPlot = RunFiles.LossPlot;

    readonly string _dir;
    readonly LlamaForCausalLM _model;
    readonly ITokenizer _tokenizer;
    readonly TokenDataset _data;
    readonly TrainOptions _opt;
    readonly RunInfo _run;
    readonly Device _device;
    readonly AdamW _optimizer;
    readonly CosineSchedule _schedule;
    readonly List<(long, double)> _trainCurve = [], _valCurve = [];
    long _step;
    double _trainSeconds;
    EvalMetrics? _lastEval;

    LmTrainer(string dir, LlamaForCausalLM model, ITokenizer tokenizer, TokenDataset data, TrainOptions opt, RunInfo run, Device device)
    {
        (_dir, _model, _tokenizer, _data, _opt, _run, _device) = (dir, model, tokenizer, data, opt.Validate(), run, device);
        _optimizer = new AdamW(model.named_parameters(), opt.Beta1, opt.Beta2, 1e-8, opt.WeightDecay);
        _schedule = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.DecaySteps ?? opt.Steps);
    }

    public LlamaForCausalLM Model => _model;
    public long Step => _step;
    public TrainOptions Options => _opt;

    /// <summary>Starts a fresh run in <paramref name="dir"/> with weights initialised from the seed.</summary>
    public static LmTrainer Create(string dir, LlamaConfig config, ITokenizer tokenizer, TokenDataset data, TrainOptions opt, RunInfo run, Device device)
    {
        if (File.Exists(Path.Combine(dir, StateDir, StateFile)))
            throw new InvalidOperationException($"{dir} already holds a training run; pass --resume to continue it or choose another --out");
        if (tokenizer.VocabSize > config.VocabSize)
            throw new ArgumentException($"tokenizer has {tokenizer.VocabSize} tokens but vocab_size is {config.VocabSize}");
        var model = new LlamaForCausalLM(config);
        model.InitializeWeights(opt.Seed);
        model.to(device);
        Directory.CreateDirectory(dir);
        File.Delete(Path.Combine(dir, MetricsLog));
        return new LmTrainer(dir, model, tokenizer, data, opt, run, device);
    }

    /// <summary>Reopens the run in <paramref name="dir"/> at its last checkpoint. <paramref name="steps"/> may extend it.</summary>
    public static LmTrainer Resume(string dir, Device device, int? steps = null)
    {
        var modelPath = Path.Combine(dir, ModelDirectory.WeightsFile);
        var optPath = Path.Combine(dir, StateDir, OptimizerFile);
        var state = RunFiles.ReadState(dir, ("model_sha256", modelPath), ("optimizer_sha256", optPath));
        var opt = state["options"].Deserialize<TrainOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var run = state["run"].Deserialize<RunInfo>()!;
        var (model, tokenizer) = ModelDirectory.Load(dir);
        model.to(device);
        var data = TokenDataset.Build(TextCorpus.Read(run.DataPath), tokenizer, Path.Combine(dir, "dataset"));
        var trainer = new LmTrainer(dir, model, tokenizer, data, opt, run, device);
        trainer._optimizer.Load(optPath);
        trainer._step = (long)state["step"]!;
        trainer._trainSeconds = (double)state["train_seconds"]!;
        trainer.ReloadMetrics();
        return trainer;
    }

    /// <summary>Trains until <see cref="TrainOptions.Steps"/> or cancellation; saves a checkpoint either way.</summary>
    public TrainResult Run(CancellationToken cancel = default, ITrainingObserver? observer = null)
    {
        var wall = Stopwatch.StartNew();
        long startStep = _step, tokensPerStep = (long)_opt.BatchSize * _opt.GradAccum * _model.Config.MaxPositions;
        double stepMsSum = 0;
        int block = _model.Config.MaxPositions, vocab = _model.Config.VocabSize;
        _model.train();
        while (_step < _opt.Steps && !cancel.IsCancellationRequested)
        {
            var sw = Stopwatch.StartNew();
            double lr = _schedule.At(_step), lossSum = 0, gradNorm;
            using (var scope = NewDisposeScope())
            {
                // Dropout randomness is a function of (seed, step): nothing to carry across a resume.
                random.manual_seed((long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)_step, 0xD50UL) >> 1));
                for (int micro = 0; micro < _opt.GradAccum; micro++)
                {
                    var (x, y) = _data.Batch(false, _opt.BatchSize, block, _opt.Seed, _step, micro, _device);
                    var logits = _model.forward(x);                                              // (B, T, V)
                    var loss = F.cross_entropy(logits.view(-1, vocab), y.view(-1)) / _opt.GradAccum;
                    loss.backward();
                    lossSum += loss.item<float>();
                }
                if (!double.IsFinite(lossSum))
                    throw Diverged($"loss became {lossSum} at step {_step + 1}");
                gradNorm = _optimizer.StepWith(lr, _opt.GradClip);   // clips, then steps; no-op if not finite
                if (!double.IsFinite(gradNorm))
                    throw Diverged($"gradient norm became {gradNorm} at step {_step + 1}");
                _optimizer.ZeroGrad();
            }
            _step++;
            double ms = sw.Elapsed.TotalMilliseconds;
            _trainSeconds += ms / 1000;
            stepMsSum += ms;
            var m = new StepMetrics(_step, _opt.Steps, lossSum, lr, gradNorm, ms, tokensPerStep / (ms / 1000));
            observer?.OnStep(m);
            if (_step % _opt.LogInterval == 0 || _step == _opt.Steps)
            {
                _trainCurve.Add((_step, lossSum));
                AppendMetrics(new { step = _step, loss = Round(lossSum), lr, grad_norm = Round(gradNorm), ms_per_step = Math.Round(ms, 2), tokens_per_s = Math.Round(m.TokensPerSecond) });
            }
            bool evalNow = _step % _opt.EvalInterval == 0 || _step == _opt.Steps;
            if (evalNow)
            {
                _lastEval = new EvalMetrics(_step, EstimateLoss(false), EstimateLoss(true));
                _model.train();
                _valCurve.Add((_step, _lastEval.ValLoss));
                AppendMetrics(new { step = _step, train_loss = Round(_lastEval.TrainLoss), val_loss = Round(_lastEval.ValLoss) });
                observer?.OnEval(_lastEval);
            }
            if (evalNow || cancel.IsCancellationRequested)
            {
                SaveCheckpoint();
                observer?.OnCheckpoint(_step, _dir);
            }
        }
        long done = _step - startStep;
        double meanMs = done > 0 ? stepMsSum / done : 0;
        return new TrainResult(_step, _lastEval?.TrainLoss, _lastEval?.ValLoss, meanMs, meanMs > 0 ? tokensPerStep / (meanMs / 1000) : 0,
            wall.Elapsed, cancel.IsCancellationRequested && _step < _opt.Steps);
    }

    TrainingDivergedException Diverged(string what) => RunFiles.Diverged(_dir, what, "Try a lower --lr or --grad-clip.");

    static double Round(double x) => Math.Round(x, 5);

    /// <summary>Mean loss over <see cref="TrainOptions.EvalIters"/> fixed batches of a split (same batches every time).</summary>
    public double EstimateLoss(bool validation)
    {
        _model.eval();
        using var _ = no_grad();
        double sum = 0;
        for (int i = 0; i < _opt.EvalIters; i++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = _data.Batch(validation, _opt.BatchSize, _model.Config.MaxPositions, _opt.Seed ^ 0x5EED, i, 0, _device);
            var logits = _model.forward(x);
            sum += F.cross_entropy(logits.view(-1, _model.Config.VocabSize), y.view(-1)).item<float>();
        }
        return sum / _opt.EvalIters;
    }

    void SaveCheckpoint()
    {
        // Each file is replaced atomically; state.json goes last and pins the others by hash, so a
        // kill mid-save is detected on resume instead of silently mixing two checkpoints.
        var optPath = Path.Combine(_dir, StateDir, OptimizerFile);
        Directory.CreateDirectory(Path.GetDirectoryName(optPath)!);
        _optimizer.Save(optPath);
        ModelDirectory.Save(_dir, _model, _tokenizer, ModelCard());
        WriteSummary();
        RunFiles.WriteState(_dir, new JsonObject
        {
            ["step"] = _step,
            ["train_seconds"] = _trainSeconds,
            ["rng"] = "counter-based: batches and dropout are functions of (seed, step)",
            ["options"] = JsonSerializer.SerializeToNode(_opt),
            ["run"] = JsonSerializer.SerializeToNode(_run),
        }, ("model_sha256", Path.Combine(_dir, ModelDirectory.WeightsFile)), ("optimizer_sha256", optPath));
        if (_trainCurve.Count + _valCurve.Count > 0)
            LossCurve.Save(Path.Combine(_dir, LossPlot), _trainCurve, _valCurve, $"{Path.GetFileName(Path.GetFullPath(_dir))} — step {_step}");
    }

    void WriteSummary()
    {
        var summary = new JsonObject
        {
            ["step"] = _step,
            ["train_loss"] = _lastEval?.TrainLoss,
            ["val_loss"] = _lastEval?.ValLoss,
            ["parameters"] = _model.ParameterCount,
            ["train_seconds"] = Math.Round(_trainSeconds, 1),
            ["ms_per_step"] = _step > 0 ? Math.Round(_trainSeconds * 1000 / _step, 2) : null,
        };
        AtomicFile.WriteAllText(Path.Combine(_dir, MetricsSummary), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    string ModelCard()
    {
        var c = _model.Config;
        return $"""
        ---
        library_name: gensharp
        pipeline_tag: text-generation
        tags: [llama, gensharp]
        ---
        # {Path.GetFileName(Path.GetFullPath(_dir))}

        A Llama-style decoder-only language model trained from scratch with GenSharp (maximum likelihood).
        Loads in Hugging Face transformers as `LlamaForCausalLM` (fp32 safetensors).

        ## How it was trained
        ```
        {_run.Command}
        ```
        - data: `{Path.GetFileName(_run.DataPath)}`, first 90% train, last 10% validation; tokenizer: {_run.Tokenizer} (vocab {_tokenizer.VocabSize})
        - preset: {_run.Preset}; seed {_opt.Seed}; steps {_step}/{_opt.Steps}; batch {_opt.BatchSize}×{_opt.GradAccum} × context {c.MaxPositions}
        - AdamW lr {_opt.LearningRate} → {_opt.MinLr} (warmup {_opt.WarmupSteps}, cosine), betas ({_opt.Beta1}, {_opt.Beta2}), weight decay {_opt.WeightDecay}, clip {_opt.GradClip}
        - model: {c.NumLayers} layers, {c.NumHeads} heads ({c.NumKvHeads} KV), {c.HiddenSize} dims, SwiGLU {c.IntermediateSize}, {_model.ParameterCount:N0} parameters

        ## Metrics
        | step | train loss | val loss | train time |
        |---|---|---|---|
        | {_step} | {_lastEval?.TrainLoss:F4} | {_lastEval?.ValLoss:F4} | {TimeSpan.FromSeconds(_trainSeconds):hh\:mm\:ss} ({_trainSeconds * 1000 / Math.Max(1, _step):F1} ms/step) |

        Loss is cross-entropy in nats per token, averaged over {_opt.EvalIters} fixed batches per split.
        """.Replace("\n        ", "\n") + "\n";
    }

    void AppendMetrics(object line) => RunFiles.AppendMetrics(_dir, line);

    /// <summary>On resume: keep metrics up to the checkpoint, drop lines a killed run wrote after it.</summary>
    void ReloadMetrics()
    {
        foreach (var node in RunFiles.TrimMetrics(_dir, _step))
        {
            long s = (long)node["step"]!;
            if (node["loss"] is { } l) _trainCurve.Add((s, (double)l));
            if (node["val_loss"] is { } v)
            {
                _valCurve.Add((s, (double)v));
                _lastEval = new EvalMetrics(s, (double)node["train_loss"]!, (double)v);
            }
        }
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _data.Dispose();
        _model.Dispose();
    }
}
