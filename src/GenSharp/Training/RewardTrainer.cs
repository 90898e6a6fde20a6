using System.Text.Json;
using GenSharp.Alignment;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Numerics;
using GenSharp.Optim;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>
/// Reward-model training (TRL's RewardTrainer): a language model's decoder with a scalar head
/// (<see cref="LlamaForSequenceClassification"/>) learns to score the chosen answer of each preference pair above the
/// rejected one, by the Bradley–Terry loss. Every weight trains (AdamW, warmup + cosine); the result is a model directory
/// in HF's layout that <c>gensharp score</c> and <see cref="AutoPipeline.OpenReward"/> open. Held-out pairs give
/// eval_loss and eval_accuracy.
/// </summary>
public sealed class RewardTrainer : ITrainingTask
{
    public const string TaskKind = "reward";
    const string OptimizerFile = "optimizer.safetensors";

    readonly LlamaForSequenceClassification _model;
    readonly ITokenizer _tokenizer;
    readonly ChatTemplate _template;
    readonly PreferenceDataset _data;
    readonly RewardOptions _opt;
    readonly Device _device;
    readonly AdamW _optimizer;
    readonly CosineSchedule _schedule;

    RewardTrainer(LlamaForSequenceClassification model, ITokenizer tokenizer, ChatTemplate template, PreferenceDataset data, RewardOptions opt, Device device)
    {
        (_model, _tokenizer, _template, _data, _opt, _device) = (model, tokenizer, template, data, opt.Validate(), device);
        _model.to(device);
        _optimizer = new AdamW(_model.named_parameters(), 0.9, 0.999, 1e-8, opt.WeightDecay);
        _schedule = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.Steps);
        _model.train();
    }

    public LlamaForSequenceClassification Model => _model;
    public PreferenceDataset Data => _data;
    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_opt.Steps, _opt.EvalInterval, _opt.EvalInterval, _opt.LogInterval);
    public string Unit => "pairs";
    public long ItemsPerStep => _opt.BatchSize;
    public long ParameterCount => _model.ParameterCount;

    /// <summary>A new reward-model run from the language model in <see cref="RewardOptions.BaseModel"/> on <see cref="RewardOptions.Data"/>.</summary>
    public static TrainingLoop Create(string dir, RewardOptions opt, string command, Device device)
    {
        opt.Validate();
        TrainingLoop.BeginNew(dir);
        var chat = AutoPipeline.OpenChat(opt.BaseModel);
        LlamaForSequenceClassification? model = null;
        try
        {
            var data = Load(opt, chat.Text.Tokenizer, chat.Template, chat.Text.Model.Config);
            model = LlamaForSequenceClassification.FromLanguageModel(chat.Text.Model, opt.Seed);
            return TrainingLoop.New(dir, new RewardTrainer(model, chat.Text.Tokenizer, chat.Template, data, opt, device), new RunInfo(command, opt.Data));
        }
        catch
        {
            model?.Dispose();
            throw;
        }
        finally { chat.Text.Model.Dispose(); }
    }

    static PreferenceDataset Load(RewardOptions opt, ITokenizer tokenizer, ChatTemplate template, LlamaConfig config)
    {
        var data = PreferenceDataset.Load(opt.Data, tokenizer, template, config.MaxPositions - 1, opt.DataOptions);   // no target token: a pair fits the context
        if (data.Train.Count == 0) throw new InvalidDataException($"{opt.Data}: every pair is held out; lower --eval-fraction");
        return data;
    }

    internal static RewardTrainer Open(Checkpoint checkpoint, Device device, int? steps)
    {
        var opt = checkpoint.State["options"].Deserialize<RewardOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var reward = AutoPipeline.OpenReward(checkpoint.ModelDirectory);
        try
        {
            var data = Load(opt, reward.Tokenizer, reward.Template, reward.Model.Config);
            var task = new RewardTrainer(reward.Model, reward.Tokenizer, reward.Template, data, opt, device);
            task._optimizer.Load(checkpoint.StateFile(OptimizerFile));
            return task;
        }
        catch
        {
            reward.Dispose();
            throw;
        }
    }

    // Scores of the chosen (first half) and rejected (second half) answers of a batch of pairs.
    (Tensor Chosen, Tensor Rejected) Scores(IReadOnlyList<PreferencePair> pairs)
    {
        var (input, last) = PreferenceDataset.Tensors(pairs, _device);
        var scores = _model.forward(input, last).select(1, 0);                       // (2B)
        return (scores.narrow(0, 0, pairs.Count), scores.narrow(0, pairs.Count, pairs.Count));
    }

    public StepLosses Step(long step)
    {
        double lr = _schedule.At(step);
        random.manual_seed((long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, 0x9E2UL) >> 1));   // dropout = f(seed, step)
        var (chosen, rejected) = Scores(_data.Draw(_opt.BatchSize, _opt.Seed, step));
        var loss = BradleyTerry.Loss(chosen, rejected);
        return _optimizer.Minimize(loss, lr, _opt.GradClip);
    }

    /// <summary>eval_loss (Bradley–Terry), eval_accuracy (chosen scored higher) and eval_margin over every held-out pair.</summary>
    public IReadOnlyList<(string Name, double Value)> Evaluate()
    {
        if (_data.Eval.Count == 0) return [];
        _model.eval();
        try
        {
            using var _ = no_grad();
            double loss = 0, right = 0, margin = 0;
            foreach (var chunk in _data.Eval.Chunk(_opt.BatchSize))
            {
                using var scope = NewDisposeScope();
                var (chosen, rejected) = Scores(chunk);
                loss += BradleyTerry.Loss(chosen, rejected).item<float>() * chunk.Length;
                right += BradleyTerry.Accuracy(chosen, rejected) * chunk.Length;
                margin += (chosen - rejected).sum().item<float>();
            }
            int n = _data.Eval.Count;
            return [("eval_loss", loss / n), ("eval_accuracy", right / n), ("eval_margin", margin / n)];
        }
        finally { _model.train(); }
    }

    public void Save(Checkpoint checkpoint, string modelCard)
    {
        ModelDirectory.SaveReward(checkpoint.ModelDirectory, _model, _tokenizer, _template, modelCard);
        _optimizer.Save(checkpoint.StateFile(OptimizerFile));
    }

    public string ModelCard(RunSummary run) => $"""
        ---
        library_name: gensharp
        pipeline_tag: text-classification
        tags: [reward-model, gensharp]
        base_model: {Path.GetFileName(Path.GetFullPath(_opt.BaseModel))}
        ---
        # {run.Name}

        A reward model ({LlamaForSequenceClassification.Architecture}, one label) trained from `{_opt.BaseModel}` on preference
        pairs with the Bradley–Terry loss. Score answers with `gensharp score --reward DIR`.

        ## How it was trained
        ```
        {run.Run.Command}
        ```
        - data: `{_opt.Data}` ({_data.Format}; {_data.Train.Count:N0} training and {_data.Eval.Count:N0} held-out pairs{(_data.Skipped > 0 ? $", {_data.Skipped} bad rows skipped" : "")}{(_data.Duplicates > 0 ? $", {_data.Duplicates} repeats read once" : "")})
        - {_model.ParameterCount:N0} parameters; seed {_opt.Seed}; steps {run.Step}/{_opt.Steps}; batch {_opt.BatchSize} pairs; AdamW lr {_opt.LearningRate} → {_opt.MinLr} (warmup {_opt.WarmupSteps}, cosine), weight decay {_opt.WeightDecay}, clip {_opt.GradClip}
        - held-out accuracy {run.Metric("eval_accuracy")?.ToString("P1") ?? "—"}, loss {run.Metric("eval_loss")?.ToString("F4") ?? "—"}
        {run.TimeLine}
        """.Replace("\n        ", "\n") + "\n";

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
    }
}
