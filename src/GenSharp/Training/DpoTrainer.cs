using System.Text.Json;
using GenSharp.Alignment;
using GenSharp.Data;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Numerics;
using GenSharp.Optim;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>
/// Direct preference optimisation (TRL's DPOTrainer) of a language model on preference pairs: the policy (every weight, or
/// a LoRA adapter on the frozen base) learns to raise the chosen answer's log-probability relative to the rejected one's,
/// measured against a frozen reference — the starting model, whose log-probabilities of every pair are computed once,
/// before the first step, and kept in the run (<see cref="ReferenceFile"/>). Logged with TRL's names: rewards/chosen,
/// rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen, logps/rejected.
/// </summary>
public sealed class DpoTrainer : ITrainingTask
{
    public const string TaskKind = "dpo";
    public const string ReferenceFile = "reference_logps.safetensors";
    const string OptimizerFile = "optimizer.safetensors";

    readonly LlamaForCausalLM _model;
    readonly ITokenizer _tokenizer;
    readonly ChatTemplate _template;
    readonly PreferenceDataset _data;
    readonly DpoOptions _opt;
    readonly Device _device;
    readonly AdamW _optimizer;
    readonly CosineSchedule _schedule;
    readonly long _trainable;
    readonly (Tensor Chosen, Tensor Rejected) _refTrain, _refEval;   // the reference's answer log-probabilities, per pair

    DpoTrainer(TextGenerationPipeline text, ChatTemplate template, PreferenceDataset data, DpoOptions opt, Device device, Dictionary<string, Tensor> reference)
    {
        (_model, _tokenizer, _template, _data, _opt, _device) = (text.Model, text.Tokenizer, template, data, opt.Validate(), device);
        _model.to(device);
        _refTrain = (reference["train_chosen"].to(device), reference["train_rejected"].to(device));
        _refEval = (reference["eval_chosen"].to(device), reference["eval_rejected"].to(device));
        var trainable = FineTuning.Trainable(_model, opt.Method);
        _trainable = trainable.Sum(p => p.Item2.numel());
        _optimizer = new AdamW(trainable, 0.9, 0.999, 1e-8, 0.0);
        _schedule = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.Steps);
        _model.eval();   // no dropout (TRL's disable_dropout): the policy starts exactly at the reference, the rewards at 0
    }

    public LlamaForCausalLM Model => _model;
    public PreferenceDataset Data => _data;
    public long TrainableParameters => _trainable;
    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_opt.Steps, _opt.EvalInterval, _opt.EvalInterval, _opt.LogInterval);
    public string Unit => "pairs";
    public long ItemsPerStep => _opt.BatchSize;
    public long ParameterCount => _model.ParameterCount;

    /// <summary>A new DPO run of the model in <see cref="DpoOptions.BaseModel"/> on <see cref="DpoOptions.Data"/>.</summary>
    public static TrainingLoop Create(string dir, DpoOptions opt, string command, Device device)
    {
        opt.Validate();
        TrainingLoop.BeginNew(dir);
        var chat = AutoPipeline.OpenChat(opt.BaseModel);
        var text = chat.Text;
        try
        {
            var data = Load(opt, text, chat.Template);
            text.Model.to(device);
            var reference = ReferenceLogps(text.Model, data, opt, device);   // before any update: the starting model is the reference
            SafeTensors.Save(Path.Combine(dir, ReferenceFile), reference, new Dictionary<string, string> { ["data"] = Path.GetFullPath(opt.Data) });
            if (opt.Method == "lora") text.Model.AttachLora(opt.Lora, opt.Seed);
            return TrainingLoop.New(dir, new DpoTrainer(text, chat.Template, data, opt, device, reference), new RunInfo(command, opt.Data));
        }
        catch
        {
            text.Model.Dispose();
            throw;
        }
    }

    static PreferenceDataset Load(DpoOptions opt, TextGenerationPipeline text, ChatTemplate template)
    {
        var data = PreferenceDataset.Load(opt.Data, text.Tokenizer, template, text.Model.Config.MaxPositions, opt.DataOptions);
        if (data.Train.Count == 0) throw new InvalidDataException($"{opt.Data}: every pair is held out; lower --eval-fraction");
        return data;
    }

    internal static DpoTrainer Open(Checkpoint checkpoint, string dir, Device device, int? steps)
    {
        var opt = checkpoint.State["options"].Deserialize<DpoOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var chat = FineTuning.OpenCheckpoint(opt.BaseModel, opt.Method, checkpoint);
        var (text, template) = (chat.Text, chat.Template);
        try
        {
            var data = Load(opt, text, template);
            var path = Path.Combine(dir, ReferenceFile);
            if (!File.Exists(path)) throw new InvalidDataException($"{path}: the reference log-probabilities are missing; start the run again");
            var task = new DpoTrainer(text, template, data, opt, device, SafeTensors.Load(path));
            task._optimizer.Load(checkpoint.StateFile(OptimizerFile));
            return task;
        }
        catch
        {
            text.Model.Dispose();
            throw;
        }
    }

    // The reference's answer log-probabilities of every pair, computed once without gradients.
    static Dictionary<string, Tensor> ReferenceLogps(LlamaForCausalLM model, PreferenceDataset data, DpoOptions opt, Device device)
    {
        model.eval();
        using var _ = no_grad();
        Tensor Of(IReadOnlyList<SftExample> examples) => cat([.. examples.Chunk(32).Select(c =>
        {
            var (input, target) = SftDataset.Layout(c, device);
            return AnswerLogps(model, input, target, opt.LossType == PreferenceLossType.Ipo).cpu();
        })]);
        var reference = new Dictionary<string, Tensor>
        {
            ["train_chosen"] = Of([.. data.Train.Select(p => p.Chosen)]), ["train_rejected"] = Of([.. data.Train.Select(p => p.Rejected)]),
            ["eval_chosen"] = data.Eval.Count > 0 ? Of([.. data.Eval.Select(p => p.Chosen)]) : zeros(0), ["eval_rejected"] = data.Eval.Count > 0 ? Of([.. data.Eval.Select(p => p.Rejected)]) : zeros(0),
        };
        return reference;
    }

    /// <summary>
    /// The log-probability (N) of each example's answer tokens under <paramref name="model"/>: summed over them, or for
    /// IPO (TRL's practice) averaged, so long answers are not favoured.
    /// </summary>
    static Tensor AnswerLogps(LlamaForCausalLM model, Tensor input, Tensor target, bool mean)
    {
        var (logp, mask) = FineTuning.TokenLogProbs(model, input, target);
        var sum = logp.sum(1);
        return mean ? sum / mask.sum(1).clamp_min(1) : sum;
    }

    // The policy's DPO terms on pairs whose reference log-probabilities are given.
    (DpoTerms Terms, Tensor Chosen, Tensor Rejected) Terms(IReadOnlyList<PreferencePair> pairs, Tensor refChosen, Tensor refRejected)
    {
        var (input, target) = SftDataset.Layout([.. pairs.Select(p => p.Chosen), .. pairs.Select(p => p.Rejected)], _device);
        var logps = AnswerLogps(_model, input, target, _opt.LossType == PreferenceLossType.Ipo);
        var (chosen, rejected) = (logps.narrow(0, 0, pairs.Count), logps.narrow(0, pairs.Count, pairs.Count));
        return (DpoLoss.Compute(chosen, rejected, refChosen, refRejected, _opt.Beta, _opt.LossType), chosen, rejected);
    }

    public StepLosses Step(long step)
    {
        double lr = _schedule.At(step);
        random.manual_seed((long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, 0xD90UL) >> 1));   // dropout = f(seed, step)
        var picked = _data.DrawIndices(_opt.BatchSize, _opt.Seed, step);
        var index = tensor(picked.Select(i => (long)i).ToArray(), device: _device);
        var (terms, chosen, rejected) = Terms([.. picked.Select(i => _data.Train[i])], _refTrain.Chosen.index_select(0, index), _refTrain.Rejected.index_select(0, index));
        return _optimizer.Minimize(terms.Loss, lr, _opt.GradClip) with { Extra = Metrics(terms, chosen, rejected, "") };
    }

    static (string, double)[] Metrics(DpoTerms t, Tensor chosen, Tensor rejected, string prefix) =>
    [
        ($"{prefix}rewards/chosen", t.ChosenRewards.mean().item<float>()), ($"{prefix}rewards/rejected", t.RejectedRewards.mean().item<float>()),
        ($"{prefix}rewards/margins", t.Margins.mean().item<float>()), ($"{prefix}rewards/accuracies", t.Accuracies.mean().item<float>()),
        ($"{prefix}logps/chosen", chosen.mean().item<float>()), ($"{prefix}logps/rejected", rejected.mean().item<float>()),
    ];

    /// <summary>eval_loss and the eval_rewards/… metrics over every held-out pair.</summary>
    public IReadOnlyList<(string Name, double Value)> Evaluate()
    {
        if (_data.Eval.Count == 0) return [];
        using var _ = no_grad();
        var parts = new List<(DpoTerms Terms, Tensor Chosen, Tensor Rejected)>();
        int at = 0;
        foreach (var chunk in _data.Eval.Chunk(_opt.BatchSize))
        {
            parts.Add(Terms(chunk, _refEval.Chosen.narrow(0, at, chunk.Length), _refEval.Rejected.narrow(0, at, chunk.Length)));
            at += chunk.Length;
        }
        double loss = parts.Sum(p => p.Terms.Loss.item<float>() * p.Chosen.shape[0]) / _data.Eval.Count;
        var all = new DpoTerms(tensor(loss), cat([.. parts.Select(p => p.Terms.ChosenRewards)]), cat([.. parts.Select(p => p.Terms.RejectedRewards)]));
        return [("eval_loss", loss), .. Metrics(all, cat([.. parts.Select(p => p.Chosen)]), cat([.. parts.Select(p => p.Rejected)]), "eval_")];
    }

    public void Save(Checkpoint checkpoint, string modelCard)
    {
        FineTuning.Save(checkpoint.ModelDirectory, _model, _tokenizer, _template, _opt.Method, _opt.Lora, _opt.BaseModel, modelCard);
        _optimizer.Save(checkpoint.StateFile(OptimizerFile));
    }

    public string ModelCard(RunSummary run) => $"""
        ---
        library_name: gensharp
        pipeline_tag: text-generation
        tags: [{(_opt.Method == "lora" ? "lora, peft, " : "")}dpo, gensharp]
        base_model: {Path.GetFileName(Path.GetFullPath(_opt.BaseModel))}
        ---
        # {run.Name}

        `{_opt.BaseModel}` aligned with {(_opt.LossType == PreferenceLossType.Ipo ? "IPO" : "DPO")} (β {_opt.Beta}) on preference pairs{(_opt.Method == "lora"
            ? $"; a LoRA adapter (PEFT layout), r {_opt.Lora.Rank}, α {_opt.Lora.Alpha}, on {string.Join(", ", _opt.Lora.TargetModules)}. Use it with `--adapter DIR`, or `gensharp lora merge`."
            : " (all weights).")}

        ## How it was trained
        ```
        {run.Run.Command}
        ```
        - data: `{_opt.Data}` ({_data.Format}; {_data.Train.Count:N0} training and {_data.Eval.Count:N0} held-out pairs{(_data.Skipped > 0 ? $", {_data.Skipped} bad rows skipped" : "")}{(_data.Duplicates > 0 ? $", {_data.Duplicates} repeats read once" : "")}); the reference is the starting model
        - {_trainable:N0} trainable of {_model.ParameterCount:N0} parameters; seed {_opt.Seed}; steps {run.Step}/{_opt.Steps}; batch {_opt.BatchSize} pairs; AdamW lr {_opt.LearningRate} → {_opt.MinLr} (warmup {_opt.WarmupSteps}, cosine), clip {_opt.GradClip}
        - held-out reward accuracy {run.Metric("eval_rewards/accuracies")?.ToString("P1") ?? "—"}, margin {run.Metric("eval_rewards/margins")?.ToString("F3") ?? "—"}
        {run.TimeLine}
        """.Replace("\n        ", "\n") + "\n";

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
    }
}
