using System.Text.Json;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Numerics;
using GenSharp.Optim;
using GenSharp.Pipelines;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Training;

/// <summary>
/// Supervised fine-tuning (TRL's SFTTrainer) of a language model on <see cref="SftDataset"/> data: cross-entropy on the
/// target tokens only (completions, assistant turns), AdamW, warmup + cosine. <c>full</c> trains every weight and saves a
/// model directory; <c>lora</c> freezes the base and trains a LoRA adapter (PEFT's layout), so the base stays bitwise
/// unchanged. The <see cref="TrainingLoop"/> runs it: resumable, evaluated on the held-out examples.
/// </summary>
public sealed class SftTrainer : ITrainingTask
{
    public const string TaskKind = "sft";
    const string OptimizerFile = "optimizer.safetensors";

    readonly LlamaForCausalLM _model;
    readonly ITokenizer _tokenizer;
    readonly ChatTemplate _template;
    readonly SftDataset _data;
    readonly SftOptions _opt;
    readonly Device _device;
    readonly AdamW _optimizer;
    readonly CosineSchedule _schedule;
    readonly long _trainable;
    readonly bool _grown;   // the vocabulary was extended: the tokenizer (and, with LoRA, the embedding layers) are part of what is saved

    SftTrainer(TextGenerationPipeline text, ChatTemplate template, SftDataset data, SftOptions opt, Device device, bool grown)
    {
        (_model, _tokenizer, _template, _data, _opt, _device, _grown) = (text.Model, text.Tokenizer, template, data, opt.Validate(), device, grown);
        _model.to(device);
        var list = FineTuning.Trainable(_model, opt.Method, grown);
        _trainable = list.Sum(p => p.Item2.numel());
        _optimizer = new AdamW(list, 0.9, 0.999, 1e-8, opt.WeightDecay);
        _schedule = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.Steps);
        _model.train();
    }

    public LlamaForCausalLM Model => _model;
    public SftDataset Data => _data;
    /// <summary>Parameters the optimizer moves (the adapter's alone with LoRA).</summary>
    public long TrainableParameters => _trainable;
    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_opt.Steps, _opt.EvalInterval, _opt.EvalInterval, _opt.LogInterval);
    public string Unit => "examples";
    public long ItemsPerStep => _opt.BatchSize;
    public long ParameterCount => _model.ParameterCount;

    /// <summary>A new fine-tuning run of the model in <see cref="SftOptions.BaseModel"/> on <see cref="SftOptions.Data"/>.</summary>
    public static TrainingLoop Create(string dir, SftOptions opt, string command, Device device)
    {
        opt.Validate();
        TrainingLoop.BeginNew(dir);
        var (text, template, data, grown) = Open(opt);
        try
        {
            if (opt.Method == "lora") text.Model.AttachLora(opt.Lora, opt.Seed);
            return TrainingLoop.New(dir, new SftTrainer(text, template, data, opt, device, grown), new RunInfo(command, opt.Data));
        }
        catch
        {
            text.Model.Dispose();
            throw;
        }
    }

    // The base model (or, resuming, the checkpoint's), its vocabulary grown by the data's new characters when asked, and the data.
    static (TextGenerationPipeline Text, ChatTemplate Template, SftDataset Data, bool Grown) Open(SftOptions opt, Checkpoint? checkpoint = null)
    {
        ChatTemplate template;
        try { template = ChatTemplate.Load(opt.BaseModel); }
        catch (InvalidDataException e) { throw new ModelLoadException(e.Message); }
        TextGenerationPipeline text;
        bool grown = false;
        if (checkpoint is not null && opt.Method == "full") text = AutoPipeline.OpenText(checkpoint.ModelDirectory);
        else if (checkpoint is not null) text = AutoPipeline.OpenText(opt.BaseModel, adapter: checkpoint.ModelDirectory);
        else text = AutoPipeline.OpenText(opt.BaseModel);
        if (checkpoint is null && opt.ExtendVocab)
        {
            var missing = SftDataset.MissingCharacters(opt.Data, text.Tokenizer, template, text.Model.Config.MaxPositions, opt.DataOptions);
            if (missing.Count > 0)
            {
                if (text.Tokenizer is not CharTokenizer chars)
                    throw new ArgumentException($"--extend-vocab adds characters to a character-level tokenizer; this model's tokenizer cannot encode {string.Join(" ", missing)}");
                var tokenizer = chars.Extend(missing);
                var model = text.Model.WithVocabulary(tokenizer.VocabSize);
                text.Model.Dispose();
                text = new TextGenerationPipeline(model, tokenizer);
            }
        }
        grown = text.Model.Config.VocabSize > BaseVocabulary(opt.BaseModel);
        var data = SftDataset.Load(opt.Data, text.Tokenizer, template, text.Model.Config.MaxPositions, opt.DataOptions);
        return (text, template, data, grown);
    }

    static int BaseVocabulary(string dir) => ModelDirectory.ReadConfigFile(dir).Json["vocab_size"] is { } v ? (int)v : 0;

    internal static SftTrainer Open(Checkpoint checkpoint, Device device, int? steps)
    {
        var opt = checkpoint.State["options"].Deserialize<SftOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        var (text, template, data, grown) = Open(opt, checkpoint);
        var task = new SftTrainer(text, template, data, opt, device, grown);
        task._optimizer.Load(checkpoint.StateFile(OptimizerFile));
        return task;
    }

    public StepLosses Step(long step)
    {
        double lr = _schedule.At(step);
        random.manual_seed((long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, 0x5F7UL) >> 1));   // dropout = f(seed, step)
        var (x, y) = _data.Batch(false, _opt.BatchSize, _opt.Seed, step, _device);
        var loss = Loss(x, y);
        return _optimizer.Minimize(loss, lr, _opt.GradClip);
    }

    // Mean cross-entropy over the target tokens only (ignore_index marks prompts, user turns and padding).
    Tensor Loss(Tensor x, Tensor y)
    {
        var logits = _model.forward(x);                                                      // (B, T, V)
        return F.cross_entropy(logits.view(-1, logits.shape[^1]), y.view(-1), ignore_index: SftDataset.IgnoreIndex);
    }

    public IReadOnlyList<(string Name, double Value)> Evaluate()
    {
        if (_data.Eval.Count == 0) return [];
        _model.eval();
        try
        {
            using var _ = no_grad();
            double sum = 0;
            for (int i = 0; i < _opt.EvalBatches; i++)
            {
                using var scope = NewDisposeScope();
                var (x, y) = _data.Batch(true, _opt.BatchSize, _opt.Seed, i, _device);
                sum += Loss(x, y).item<float>();
            }
            return [("eval_loss", sum / _opt.EvalBatches)];
        }
        finally { _model.train(); }
    }

    public void Save(Checkpoint checkpoint, string modelCard)
    {
        FineTuning.Save(checkpoint.ModelDirectory, _model, _tokenizer, _template, _opt.Method, _opt.Lora, _opt.BaseModel, modelCard, _grown);
        _optimizer.Save(checkpoint.StateFile(OptimizerFile));
    }

    public string ModelCard(RunSummary run) => $"""
        ---
        library_name: gensharp
        pipeline_tag: text-generation
        tags: [{(_opt.Method == "lora" ? "lora, peft, " : "")}sft, gensharp]
        base_model: {Path.GetFileName(Path.GetFullPath(_opt.BaseModel))}
        ---
        # {run.Name}

        {(_opt.Method == "lora"
            ? $"A LoRA adapter (PEFT layout: adapter_config.json, adapter_model.safetensors) for `{_opt.BaseModel}`: r {_opt.Lora.Rank}, α {_opt.Lora.Alpha}, dropout {_opt.Lora.Dropout}, on {string.Join(", ", _opt.Lora.TargetModules)}. Use it with `--adapter DIR`, or `gensharp lora merge`."
            : $"`{_opt.BaseModel}` fine-tuned (all weights) with GenSharp.")}

        ## How it was trained
        ```
        {run.Run.Command}
        ```
        - data: `{_opt.Data}` ({_data.Format}; {_data.Train.Count:N0} training and {_data.Eval.Count:N0} held-out examples{(_data.Skipped > 0 ? $", {_data.Skipped} bad lines skipped" : "")}{(_opt.DataOptions.Packing ? ", packed" : "")}); loss on {(_data.Format == "text" ? "every token" : "completion / assistant tokens only")}
        - {_trainable:N0} trainable of {_model.ParameterCount:N0} parameters; seed {_opt.Seed}; steps {run.Step}/{_opt.Steps}; batch {_opt.BatchSize}; AdamW lr {_opt.LearningRate} → {_opt.MinLr} (warmup {_opt.WarmupSteps}, cosine), weight decay {_opt.WeightDecay}, clip {_opt.GradClip}
        - held-out loss {run.Metric("eval_loss")?.ToString("F4") ?? "—"} (nats per target token)
        {run.TimeLine}
        """.Replace("\n        ", "\n") + "\n";

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
    }
}
