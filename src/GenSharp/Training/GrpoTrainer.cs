using System.Text.Json;
using GenSharp.Alignment;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Numerics;
using GenSharp.Optim;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>
/// GRPO (Shao et al. 2024; TRL's GRPOTrainer) with rewards a program checks: each step samples G answers to each of a few
/// prompts with the generation engine (KV cache, continuous batching), scores them, normalises the rewards within each
/// group into advantages and takes one step on the clipped objective with a k3 KL penalty to the frozen starting model
/// (<see cref="GrpoObjective"/>). One update per batch of samples (TRL's num_iterations = 1), so the ratio starts at 1
/// and the clip guards later updates of the same samples only in principle; dropout is off, as in sampling.
/// Held-out prompts are answered greedily: eval_reward (for exact-match rewards, the accuracy).
/// </summary>
public sealed class GrpoTrainer : ITrainingTask
{
    public const string TaskKind = "grpo";
    const string OptimizerFile = "optimizer.safetensors";

    readonly LlamaForCausalLM _model, _reference;
    readonly ITokenizer _tokenizer;
    readonly ChatTemplate _template;
    readonly PromptDataset _data;
    readonly GrpoOptions _opt;
    readonly Device _device;
    readonly AdamW _optimizer;
    readonly CosineSchedule _schedule;
    readonly long _trainable;
    readonly RewardFunction _reward;   // a batch at a time
    readonly RewardPipeline? _rewardModel;
    readonly GenerationEngine _engine;

    GrpoTrainer(TextGenerationPipeline policy, LlamaForCausalLM reference, ChatTemplate template, PromptDataset data, GrpoOptions opt, Device device,
        RewardFunction? custom)
    {
        (_model, _reference, _tokenizer, _template, _data, _opt, _device) = (policy.Model, reference, policy.Tokenizer, template, data, opt.Validate(), device);
        _model.to(device);
        _reference.to(device);
        _reference.eval();
        foreach (var p in _reference.parameters()) p.requires_grad = false;
        (_reward, _rewardModel) = Reward(opt, data, device, custom);
        if (_rewardModel?.BaseMismatch(_tokenizer) is { } why)
        {
            _rewardModel.Dispose();
            throw new ArgumentException($"--reward {opt.Reward}: the reward model was trained from another base than {opt.BaseModel} ({why}); train it from this model");
        }
        var trainable = FineTuning.Trainable(_model, opt.Method);
        _trainable = trainable.Sum(p => p.Item2.numel());
        _optimizer = new AdamW(trainable, 0.9, 0.999, 1e-8, 0.0);
        _schedule = new CosineSchedule(opt.LearningRate, opt.MinLr, opt.WarmupSteps, opt.Steps);
        _engine = new GenerationEngine(_model, _tokenizer, opt.GroupSize * opt.PromptsPerStep);   // sets eval mode: no dropout
    }

    public LlamaForCausalLM Model => _model;
    public PromptDataset Data => _data;
    public long TrainableParameters => _trainable;
    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_opt.Steps, _opt.EvalInterval, _opt.EvalInterval, _opt.LogInterval);
    public string Unit => "samples";
    public long ItemsPerStep => _opt.GroupSize * _opt.PromptsPerStep;
    public long ParameterCount => _model.ParameterCount;

    /// <summary>
    /// Scores a batch of (prompt, completion) samples, one reward each — any function of the program's: a unit test runner,
    /// a checker, another model. <see cref="GrpoOptions.Reward"/> is then <c>custom:NAME</c>, recorded in the run.
    /// </summary>
    public delegate IReadOnlyList<double> RewardFunction(IReadOnlyList<(PromptExample Prompt, string Completion)> samples);

    public const string CustomRewardPrefix = "custom:";

    /// <summary>
    /// A new GRPO run of the model in <see cref="GrpoOptions.BaseModel"/> on the prompts in <see cref="GrpoOptions.Prompts"/>;
    /// with <paramref name="reward"/>, scored by that function (<see cref="GrpoOptions.Reward"/> must name it: <c>custom:NAME</c>).
    /// </summary>
    public static TrainingLoop Create(string dir, GrpoOptions opt, string command, Device device, RewardFunction? reward = null)
    {
        opt.Validate();
        CheckCustom(opt, reward);
        TrainingLoop.BeginNew(dir);
        var chat = AutoPipeline.OpenChat(opt.BaseModel);
        var reference = AutoPipeline.OpenText(opt.BaseModel).Model;
        try
        {
            var data = Load(opt, chat.Text, chat.Template);
            if (opt.Method == "lora") chat.Text.Model.AttachLora(opt.Lora, opt.Seed);
            return TrainingLoop.New(dir, new GrpoTrainer(chat.Text, reference, chat.Template, data, opt, device, reward), new RunInfo(command, opt.Prompts));
        }
        catch
        {
            chat.Text.Model.Dispose();
            reference.Dispose();
            throw;
        }
    }

    static PromptDataset Load(GrpoOptions opt, TextGenerationPipeline text, ChatTemplate template)
    {
        int room = text.Model.Config.MaxPositions - opt.MaxNewTokens;
        if (room < 1) throw new ArgumentException($"--max-tokens {opt.MaxNewTokens} leaves no room for a prompt in the model's context ({text.Model.Config.MaxPositions})");
        var data = PromptDataset.Load(opt.Prompts, text.Tokenizer, template, room, opt.EvalFraction);
        if (data.Train.Count == 0) throw new InvalidDataException($"{opt.Prompts}: every prompt is held out; lower --eval-fraction");
        return data;
    }

    /// <summary>Resumes a run whose reward is a function of the program (<c>custom:NAME</c>): the same function must be passed again.</summary>
    public static TrainingLoop Resume(string dir, Device device, RewardFunction reward, int? steps = null) =>
        TrainingLoop.Resume(dir, device, steps, checkpoint => (string?)checkpoint.State["task"] == TaskKind
            ? Open(checkpoint, device, steps, reward)
            : throw new InvalidDataException($"{dir}: this run is not a GRPO run (its task is '{checkpoint.State["task"]}')"));

    static void CheckCustom(GrpoOptions opt, RewardFunction? reward)
    {
        bool named = opt.Reward.StartsWith(CustomRewardPrefix, StringComparison.Ordinal);
        if (named && reward is null)
            throw new ArgumentException($"the reward '{opt.Reward}' is a function of the program that started the run; " +
                "pass it again: GrpoTrainer.Create(…, reward) or GrpoTrainer.Resume(dir, device, reward)");
        if (!named && reward is not null)
            throw new ArgumentException($"a reward function was given, but --reward is '{opt.Reward}'; name the function: {CustomRewardPrefix}NAME");
    }

    internal static GrpoTrainer Open(Checkpoint checkpoint, Device device, int? steps, RewardFunction? reward = null)
    {
        var opt = checkpoint.State["options"].Deserialize<GrpoOptions>()!;
        if (steps is { } s) opt = opt with { Steps = s };
        CheckCustom(opt, reward);
        var chat = FineTuning.OpenCheckpoint(opt.BaseModel, opt.Method, checkpoint);
        var (policy, template) = (chat.Text, chat.Template);
        var reference = AutoPipeline.OpenText(opt.BaseModel).Model;
        try
        {
            var task = new GrpoTrainer(policy, reference, template, Load(opt, policy, template), opt, device, reward);
            task._optimizer.Load(checkpoint.StateFile(OptimizerFile));
            return task;
        }
        catch
        {
            policy.Model.Dispose();
            reference.Dispose();
            throw;
        }
    }

    // --reward: a checkable reward by name, a reward model's score of (prompt, completion), or the program's function.
    static (RewardFunction Reward, RewardPipeline? Model) Reward(GrpoOptions opt, PromptDataset data, Device device, RewardFunction? custom)
    {
        static RewardFunction Each(Func<PromptExample, string, double> f) => rows => [.. rows.Select(r => f(r.Prompt, r.Completion))];
        var spec = opt.Reward;
        if (custom is not null)
            return (rows =>
            {
                var scores = custom(rows);
                return scores?.Count == rows.Count ? scores
                    : throw new InvalidDataException($"--reward {spec} returned {scores?.Count.ToString() ?? "no"} rewards for {rows.Count} samples");
            }, null);
        if (spec == "exact-match")
        {
            int missing = data.Train.Concat(data.Eval).Count(p => p.Answer is null);
            if (missing > 0) throw new InvalidDataException($"{opt.Prompts}: --reward exact-match needs an 'answer' in every row; {missing} row(s) have none");
            return (Each((p, c) => CheckableRewards.ExactMatch(c, p.Answer!)), null);
        }
        if (spec.StartsWith("regex:"))
        {
            Func<string, double> matches;
            try { matches = CheckableRewards.Matches(spec["regex:".Length..]); }
            catch (ArgumentException e) { throw new ArgumentException($"--reward {spec}: not a valid regular expression ({e.Message})"); }
            return (Each((_, c) => matches(c)), null);
        }
        if (spec.StartsWith("length:"))
        {
            var parts = spec["length:".Length..].Split('-');
            if (parts.Length != 2 || !int.TryParse(parts[0], out int min) || !int.TryParse(parts[1], out int max))
                throw new ArgumentException($"--reward {spec}: expected length:MIN-MAX (characters)");
            var window = CheckableRewards.LengthWindow(min, max);
            return (Each((_, c) => window(c)), null);
        }
        if (Directory.Exists(spec))
        {
            var rm = AutoPipeline.OpenReward(spec, device);
            // One batched forward pass for the whole step's samples.
            return (rows => rm.Score([.. rows.Select(r => ((System.Text.Json.Nodes.JsonNode)r.Prompt.Text, (System.Text.Json.Nodes.JsonNode)r.Completion))]), rm);
        }
        throw new ArgumentException($"--reward '{spec}' is not exact-match, regex:PATTERN, length:MIN-MAX, a reward-model directory or (in the library) custom:NAME");
    }

    // Generates with the policy: n answers to each prompt, seeded by (seed, step, prompt); in prompt order, groups together.
    List<(PromptExample Prompt, GeneratedSequence Sequence)> Generate(IReadOnlyList<PromptExample> prompts, int n, double temperature, long step)
    {
        var options = new GenerationOptions { MaxTokens = _opt.MaxNewTokens, Temperature = temperature, N = n, Stop = _template.Stop.Count > 0 ? _template.Stop : null }.Validate();
        var all = new List<(PromptExample, GeneratedSequence)>();
        foreach (var chunk in prompts.Chunk(Math.Max(1, _engine.Capacity / n)))
        {
            for (int i = 0; i < chunk.Length; i++)
            {
                long seed = (long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, (ulong)(all.Count + i), 0x6A1) >> 1);
                all.AddRange(_engine.Add(chunk[i].Tokens, options with { Seed = seed }).Select(s => (chunk[i], s)));
            }
            while (_engine.HasWork) _engine.Step();
        }
        return all;
    }

    double[] Rewards(List<(PromptExample Prompt, GeneratedSequence Sequence)> samples)
    {
        var rewards = _reward([.. samples.Select(s => (s.Prompt, s.Sequence.Text))]).ToArray();
        int bad = Array.FindIndex(rewards, r => !double.IsFinite(r));
        return bad < 0 ? rewards
            : throw new InvalidDataException($"--reward {_opt.Reward} gave {rewards[bad]} for the completion {JsonSerializer.Serialize(samples[bad].Sequence.Text)}");
    }

    public StepLosses Step(long step)
    {
        double lr = _schedule.At(step);
        var samples = Generate(_data.Draw(_opt.PromptsPerStep, _opt.Seed, step), _opt.GroupSize, _opt.Temperature, step);
        var rewards = Rewards(samples);
        var rewardTensor = tensor(rewards, dtype: float32, device: _device);
        var advantages = GrpoObjective.Advantages(rewardTensor, _opt.GroupSize);
        var examples = samples.Select(s => new SftExample([.. s.Prompt.Tokens, .. s.Sequence.Tokens],
            [.. Enumerable.Repeat(false, s.Prompt.Tokens.Length), .. Enumerable.Repeat(true, s.Sequence.Tokens.Count)])).ToList();
        var (input, target) = SftDataset.Layout(examples, _device);
        var (logps, mask) = FineTuning.TokenLogProbs(_model, input, target);
        Tensor refLogps;
        using (no_grad()) refLogps = FineTuning.TokenLogProbs(_reference, input, target).LogProbs;
        var (loss, kl, clipped) = GrpoObjective.Loss(logps, logps.detach(), refLogps, mask, advantages, _opt.Clip, _opt.Beta);
        var groups = rewardTensor.view(-1, _opt.GroupSize);
        return _optimizer.Minimize(loss, lr, _opt.GradClip) with
        {
            Extra =
            [
                ("reward", rewards.Average()), ("reward_std", groups.std(1, unbiased: true).mean().item<float>()),
                ("kl", kl.item<float>()), ("clip_ratio", clipped.item<float>()),
                ("completions/mean_length", samples.Average(s => s.Sequence.Tokens.Count)),
            ],
        };
    }

    /// <summary>eval_reward: the mean reward of greedy answers to the held-out prompts.</summary>
    public IReadOnlyList<(string Name, double Value)> Evaluate()
    {
        if (_data.Eval.Count == 0) return [];
        var options = new GenerationOptions { MaxTokens = _opt.MaxNewTokens, Temperature = 0, Stop = _template.Stop.Count > 0 ? _template.Stop : null };
        var answers = new List<(PromptExample, GeneratedSequence)>();
        foreach (var chunk in _data.Eval.Chunk(_engine.Capacity))
        {
            foreach (var p in chunk) answers.Add((p, _engine.Add(p.Tokens, options)[0]));
            while (_engine.HasWork) _engine.Step();
        }
        return [("eval_reward", Rewards(answers).Average())];
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
        tags: [{(_opt.Method == "lora" ? "lora, peft, " : "")}grpo, gensharp]
        base_model: {Path.GetFileName(Path.GetFullPath(_opt.BaseModel))}
        ---
        # {run.Name}

        `{_opt.BaseModel}` trained with GRPO against the reward `{_opt.Reward}`{(_opt.Method == "lora" ? $" (a LoRA adapter, PEFT layout, r {_opt.Lora.Rank}; use it with `--adapter DIR`)" : " (all weights)")}.

        ## How it was trained
        ```
        {run.Run.Command}
        ```
        - prompts: `{_opt.Prompts}` ({_data.Train.Count:N0} training, {_data.Eval.Count:N0} held-out); {_opt.GroupSize} samples per prompt, {_opt.PromptsPerStep} prompts per step, temperature {_opt.Temperature}, at most {_opt.MaxNewTokens} new tokens
        - β {_opt.Beta} (k3 KL to the starting model), clip ε {_opt.Clip}; {_trainable:N0} trainable parameters; seed {_opt.Seed}; steps {run.Step}/{_opt.Steps}; AdamW lr {_opt.LearningRate} → {_opt.MinLr}, clip {_opt.GradClip}
        - held-out greedy reward {run.Metric("eval_reward")?.ToString("F3") ?? "—"}
        {run.TimeLine}
        """.Replace("\n        ", "\n") + "\n";

    public void Dispose()
    {
        _engine.Dispose();
        _optimizer.Dispose();
        _rewardModel?.Dispose();
        _reference.Dispose();
        _model.Dispose();
    }
}
