using GenSharp.Pipelines;
using GenSharp.Optim;
using GenSharp.Data;
using GenSharp.Numerics;
using System.Text.Json;
using GenSharp.Models;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Training;

/// <summary>
/// Maximum-likelihood pretraining of a <see cref="LlamaForCausalLM"/> on a <see cref="TokenDataset"/>:
/// AdamW, warmup + cosine schedule, clipping, accumulation, periodic evaluation and checkpoints
/// that a killed run resumes from bit-identically on CPU. The <see cref="TrainingLoop"/> runs it.
/// </summary>
public sealed class LmTrainer : ITrainingTask
{
    public const string TaskKind = "lm", OptimizerFile = "optimizer.safetensors", DatasetFolder = "dataset";

    readonly string _dir;
    readonly LlamaForCausalLM _model;
    readonly ITokenizer _tokenizer;
    readonly TokenDataset _data;
    readonly TrainOptions _opt;
    readonly Device _device;
    readonly AdamW _optimizer;
    readonly CosineSchedule _schedule;

    LmTrainer(string dir, LlamaForCausalLM model, ITokenizer tokenizer, TokenDataset data, TrainOptions opt, Device device)
    {
        (_dir, _model, _tokenizer, _data, _opt, _device) = (dir, model, tokenizer, data, opt.Validate(), device);
        _optimizer = new AdamW(model.named_parameters(), opt.Beta1, opt.Beta2, 1e-8, opt.WeightDecay);
        _schedule = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.DecaySteps ?? opt.Steps);
        _model.train();
    }

    public LlamaForCausalLM Model => _model;
    public TrainOptions TrainOptions => _opt;
    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_opt.Steps, _opt.EvalInterval, _opt.EvalInterval, _opt.LogInterval);
    public string Unit => "tokens";
    public long ItemsPerStep => (long)_opt.BatchSize * _opt.GradAccum * _model.Config.MaxPositions;
    public long ParameterCount => _model.ParameterCount;

    /// <summary>Starts a fresh run in <paramref name="dir"/> with weights initialised from the seed.</summary>
    public static TrainingLoop Create(string dir, LlamaConfig config, ITokenizer tokenizer, TokenDataset data, TrainOptions opt, RunInfo run, Device device)
    {
        TrainingLoop.BeginNew(dir);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new ArgumentException($"tokenizer has {tokenizer.VocabSize} tokens but vocab_size is {config.VocabSize}");
        var model = new LlamaForCausalLM(config);
        model.InitializeWeights(opt.Seed);
        model.to(device);
        return TrainingLoop.New(dir, new LmTrainer(dir, model, tokenizer, data, opt, device), run);
    }

    internal static LmTrainer Open(Checkpoint checkpoint, string dir, Device device, int? steps)
    {
        var opt = checkpoint.State["options"].Deserialize<TrainOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var run = checkpoint.State["run"].Deserialize<RunInfo>()!;
        var (model, tokenizer) = ModelDirectory.Load(checkpoint.ModelDirectory);
        model.to(device);
        var data = TokenDataset.Build(TextCorpus.Read(run.Data), tokenizer, Path.Combine(dir, DatasetFolder));
        var trainer = new LmTrainer(dir, model, tokenizer, data, opt, device);
        trainer._optimizer.Load(checkpoint.StateFile(OptimizerFile));
        return trainer;
    }

    public StepLosses Step(long step)
    {
        double lr = _schedule.At(step), lossSum = 0;
        int block = _model.Config.MaxPositions, vocab = _model.Config.VocabSize;
        // Dropout randomness is a function of (seed, step): nothing to carry across a resume.
        random.manual_seed((long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, 0xD50UL) >> 1));
        for (int micro = 0; micro < _opt.GradAccum; micro++)
        {
            var (x, y) = _data.Batch(false, _opt.BatchSize, block, _opt.Seed, step, micro, _device);
            var logits = _model.forward(x);                                              // (B, T, V)
            var loss = F.cross_entropy(logits.view(-1, vocab), y.view(-1)) / _opt.GradAccum;
            loss.backward();
            lossSum += loss.item<float>();
        }
        double gradNorm = double.IsFinite(lossSum) ? _optimizer.StepWith(lr, _opt.GradClip) : double.NaN;   // clips, then steps
        _optimizer.ZeroGrad();
        return new StepLosses(lossSum, gradNorm, lr);
    }

    public IReadOnlyList<(string Name, double Value)> Evaluate() => [("train_loss", EstimateLoss(false)), ("val_loss", EstimateLoss(true))];

    /// <summary>Mean loss over <see cref="TrainOptions.EvalIters"/> fixed batches of a split (same batches every time).</summary>
    public double EstimateLoss(bool validation)
    {
        _model.eval();
        try
        {
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
        finally { _model.train(); }
    }

    public void Save(Checkpoint checkpoint, string modelCard)
    {
        // A chat template the user edited in the run directory is kept.
        var template = Path.Combine(_dir, ChatTemplate.FileName);
        if (File.Exists(template)) File.Copy(template, Path.Combine(checkpoint.ModelDirectory, ChatTemplate.FileName));
        ModelDirectory.Save(checkpoint.ModelDirectory, _model, _tokenizer, modelCard);
        _optimizer.Save(checkpoint.StateFile(OptimizerFile));
    }

    public string ModelCard(RunSummary run)
    {
        var c = _model.Config;
        return $"""
        ---
        library_name: gensharp
        pipeline_tag: text-generation
        tags: [llama, gensharp]
        ---
        # {run.Name}

        A Llama-style decoder-only language model trained from scratch with GenSharp (maximum likelihood).
        Loads in Hugging Face transformers as `LlamaForCausalLM` (fp32 safetensors).

        ## How it was trained
        ```
        {run.Run.Command}
        ```
        - data: `{Path.GetFileName(run.Run.Data)}`, first 90% train, last 10% validation; tokenizer: {run.Run.Tokenizer} (vocab {_tokenizer.VocabSize})
        - preset: {run.Run.Preset}; seed {_opt.Seed}; steps {run.Step}/{_opt.Steps}; batch {_opt.BatchSize}×{_opt.GradAccum} × context {c.MaxPositions}
        - AdamW lr {_opt.LearningRate} → {_opt.MinLr} (warmup {_opt.WarmupSteps}, cosine), betas ({_opt.Beta1}, {_opt.Beta2}), weight decay {_opt.WeightDecay}, clip {_opt.GradClip}
        - model: {c.NumLayers} layers, {c.NumHeads} heads ({c.NumKvHeads} KV), {c.HiddenSize} dims, SwiGLU {c.IntermediateSize}, {_model.ParameterCount:N0} parameters

        ## Metrics
        | step | train loss | val loss | train time |
        |---|---|---|---|
        | {run.Step} | {run.Metric("train_loss"):F4} | {run.Metric("val_loss"):F4} | {TimeSpan.FromSeconds(run.TrainSeconds):hh\:mm\:ss} ({run.TrainSeconds * 1000 / Math.Max(1, run.Step):F1} ms/step) |

        Loss is cross-entropy in nats per token, averaged over {_opt.EvalIters} fixed batches per split.
        """.Replace("\n        ", "\n") + "\n";
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _data.Dispose();
        _model.Dispose();
    }
}
