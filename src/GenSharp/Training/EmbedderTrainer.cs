using System.Text.Json;
using GenSharp.Data;
using GenSharp.Embeddings;
using GenSharp.Models;
using GenSharp.Numerics;
using GenSharp.Optim;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>
/// Trains a retrieval encoder (<see cref="BagEncoder"/>) on the user's own passages without labels: inverse-cloze pairs
/// (<see cref="PassageDataset"/>), in-batch negatives plus the data's hard negatives, the symmetric InfoNCE loss, AdamW
/// with warmup + cosine. Held-out passages give eval_loss and eval_accuracy (the query's passage ranked first among all held-out passages). The model
/// directory is what <see cref="AutoPipeline.OpenEmbedder"/> and <c>gensharp rag embed --embedder</c> open.
/// </summary>
public sealed class EmbedderTrainer : ITrainingTask
{
    public const string TaskKind = "embedder";
    const string OptimizerFile = "optimizer.safetensors";
    const int MaxEvalPairs = 2000;

    readonly BagEncoder _model;
    readonly FeatureHasher _hasher;
    readonly PassageDataset _data;
    readonly EmbedderOptions _opt;
    readonly Device _device;
    readonly AdamW _optimizer;
    readonly CosineSchedule _schedule;

    EmbedderTrainer(BagEncoder model, PassageDataset data, EmbedderOptions opt, Device device)
    {
        (_model, _data, _opt, _device) = (model, data, opt.Validate(), device);
        _hasher = EmbedderPipeline.Hasher(model.Config);
        _model.to(device);
        _optimizer = new AdamW(_model.named_parameters(), 0.9, 0.999, 1e-8, weightDecay: 0);   // rows of rare features must not decay between their updates
        _schedule = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.Steps);
        _model.train();
    }

    public PassageDataset Data => _data;
    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_opt.Steps, _opt.EvalInterval, _opt.EvalInterval, _opt.LogInterval);
    public string Unit => "pairs";
    public long ItemsPerStep => _opt.BatchSize;
    public long ParameterCount => _model.Config.ParameterCount;

    /// <summary>A new run on the passages in <see cref="EmbedderOptions.Data"/>.</summary>
    public static TrainingLoop Create(string dir, EmbedderOptions opt, string command, Device device)
    {
        opt.Validate();
        var data = PassageDataset.Load(opt.Data, opt.EvalFraction);   // before the run directory: bad data costs nothing
        TrainingLoop.BeginNew(dir);
        manual_seed(opt.Seed);
        return TrainingLoop.New(dir, new EmbedderTrainer(new BagEncoder(opt.Model), data, opt, device), new RunInfo(command, opt.Data));
    }

    internal static EmbedderTrainer Open(Checkpoint checkpoint, Device device, int? steps)
    {
        var opt = checkpoint.State["options"].Deserialize<EmbedderOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var model = AutoPipeline.OpenEmbedder(checkpoint.ModelDirectory).Model;
        try
        {
            var task = new EmbedderTrainer(model, PassageDataset.Load(opt.Data, opt.EvalFraction), opt, device);
            task._optimizer.Load(checkpoint.StateFile(OptimizerFile));
            return task;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    Tensor Encode(IEnumerable<string> texts, long? step = null)
    {
        var features = texts.Select(_hasher.Features).ToList();
        if (step is { } s && _opt.FeatureDropout > 0)   // training only: a function of seed, step and position
            features = [.. features.Select((f, i) => Drop(f, (ulong)s, (ulong)i))];
        var (flat, offsets) = BagEncoder.Batch(features, _device);
        return _model.forward(flat, offsets);
    }

    // Each feature kept with probability 1 − p (at least one kept): no single word or n-gram can carry a passage alone.
    int[] Drop(int[] features, ulong step, ulong text)
    {
        var kept = features.Where((_, j) => SplitMix64.Hash((ulong)_opt.Seed, step, text, (ulong)j, 0xD0UL) % 10_000 >= (ulong)(_opt.FeatureDropout * 10_000)).ToArray();
        return kept.Length > 0 || features.Length == 0 ? kept : [features[0]];
    }

    public StepLosses Step(long step)
    {
        var batch = _data.Draw(_opt.BatchSize, _opt.Seed, step, _opt.QueryWords);
        var negatives = batch.Where(b => b.Negative is not null).Select(b => b.Negative!).ToList();
        var loss = InfoNce.Loss(Encode(batch.Select(b => b.Query), step), Encode(batch.Select(b => b.Passage), step + (1L << 40)), _opt.Temperature,
            negatives.Count > 0 ? Encode(negatives, step + (2L << 40)) : null);
        return _optimizer.Minimize(loss, _schedule.At(step), 0);
    }

    /// <summary>eval_loss (InfoNCE over the held-out pairs in batches) and eval_accuracy (top-1 among every held-out passage).</summary>
    public IReadOnlyList<(string Name, double Value)> Evaluate()
    {
        var pairs = _data.EvalPairs(MaxEvalPairs, _opt.Seed);
        if (pairs.Count < 2) return [];
        using var _ = no_grad();
        var q = Encode(pairs.Select(p => p.Query));
        var p = Encode(pairs.Select(p => p.Passage));
        double loss = 0;
        int batches = 0;
        for (int i = 0; i + 1 < pairs.Count; i += _opt.BatchSize, batches++)
        {
            long n = Math.Min(_opt.BatchSize, pairs.Count - i);
            loss += InfoNce.Loss(q.narrow(0, i, n), p.narrow(0, i, n), _opt.Temperature).item<float>();
        }
        return [("eval_loss", loss / batches), ("eval_accuracy", InfoNce.Accuracy(q, p))];
    }

    public void Save(Checkpoint checkpoint, string modelCard)
    {
        ModelDirectory.SaveModule(checkpoint.ModelDirectory, _model, _model.Config.ToJson(), modelCard);
        _optimizer.Save(checkpoint.StateFile(OptimizerFile));
    }

    public string ModelCard(RunSummary run) => $"""
        ---
        library_name: gensharp
        pipeline_tag: sentence-similarity
        tags: [retrieval, bi-encoder, gensharp]
        ---
        # {run.Name}

        A retrieval encoder ({BagEncoderConfig.Type}: hashed words, word bigrams and character n-grams, averaged, unit
        length; {_model.Config.HiddenSize} dimensions) trained without labels by the inverse cloze task on the user's passages.
        Use it with `gensharp rag embed --embedder DIR`, then `gensharp rag search --mode dense|hybrid`.

        ## How it was trained
        ```
        {run.Run.Command}
        ```
        - data: `{_opt.Data}` ({_data.Train.Count:N0} training and {_data.Eval.Count:N0} held-out passages{(_data.Skipped > 0 ? $"; {_data.Skipped} without two sentences skipped" : "")}; {_data.Negatives.Count(n => n.Length > 0):N0} with hard negatives)
        - {ParameterCount:N0} parameters; seed {_opt.Seed}; steps {run.Step}/{_opt.Steps}; batch {_opt.BatchSize} pairs (in-batch negatives), τ {_opt.Temperature}, feature dropout {_opt.FeatureDropout}; queries {(_opt.QueryWords > 0 ? $"random spans of 3–{_opt.QueryWords} words" : "whole sentences")}; AdamW lr {_opt.LearningRate} → {_opt.MinLr} (warmup {_opt.WarmupSteps}, cosine)
        - held-out top-1 accuracy {run.Metric("eval_accuracy")?.ToString("P1") ?? "—"} among {Math.Min(_data.Eval.Count, MaxEvalPairs):N0} passages, loss {run.Metric("eval_loss")?.ToString("F4") ?? "—"}
        {run.TimeLine}
        """.Replace("\n        ", "\n") + "\n";

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
    }
}
