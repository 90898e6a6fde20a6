using System.Text.Json.Serialization;
using GenSharp.Models;

namespace GenSharp.Training;

/// <summary>How a language model is trained with GRPO (TRL GRPOConfig's fields where they exist); stored with the run for resume.</summary>
public sealed record GrpoOptions
{
    [JsonPropertyName("base_model")] public required string BaseModel { get; init; }   // the policy's start, and the frozen reference
    [JsonPropertyName("prompts")] public required string Prompts { get; init; }        // JSONL {"prompt", "answer"}
    /// <summary>exact-match (the row's answer), regex:PATTERN, length:MIN-MAX, a reward-model directory, or custom:NAME for
    /// a <see cref="GrpoTrainer.RewardFunction"/> passed in the library.</summary>
    [JsonPropertyName("reward")] public string Reward { get; init; } = "exact-match";
    [JsonPropertyName("method")] public string Method { get; init; } = "full";         // full | lora
    [JsonPropertyName("lora")] public LoraConfig Lora { get; init; } = new();
    [JsonPropertyName("num_generations")] public int GroupSize { get; init; } = 8;      // G answers per prompt
    [JsonPropertyName("prompts_per_step")] public int PromptsPerStep { get; init; } = 8;
    [JsonPropertyName("max_completion_length")] public int MaxNewTokens { get; init; } = 16;
    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 1.0;
    [JsonPropertyName("beta")] public double Beta { get; init; } = 0.04;               // KL coefficient
    [JsonPropertyName("epsilon")] public double Clip { get; init; } = 0.2;             // PPO's clip range
    [JsonPropertyName("steps")] public int Steps { get; init; } = 200;
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 1e-5;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 1e-6;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 0;
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
    [JsonPropertyName("eval_fraction")] public double EvalFraction { get; init; } = 0.1;
    [JsonPropertyName("eval_interval")] public int EvalInterval { get; init; } = 50;     // also the checkpoint interval
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 5;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public GrpoOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        Require(Method is "full" or "lora", $"--method must be full or lora (got '{Method}')");
        Require(GroupSize is >= 2 and <= 256, $"--group-size must be in 2…256 (got {GroupSize})");
        Require(PromptsPerStep is >= 1 and <= 256, $"--prompts-per-step must be in 1…256 (got {PromptsPerStep})");
        Require(GroupSize * PromptsPerStep <= 1024, $"--group-size × --prompts-per-step must be at most 1024 (got {GroupSize * PromptsPerStep})");
        Require(MaxNewTokens is >= 1 and <= 4096, $"--max-tokens must be in 1…4096 (got {MaxNewTokens})");
        Require(Temperature > 0 && Temperature <= 10, $"--temperature must be in (0, 10] (got {Temperature}): GRPO needs varied samples");
        Require(Beta >= 0 && double.IsFinite(Beta), $"--beta must be ≥ 0 (got {Beta})");
        Require(Clip > 0 && Clip < 1, $"--clip must be in (0, 1) (got {Clip})");
        Require(Steps > 0, $"--steps must be positive (got {Steps})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr must be a positive number (got {LearningRate})");
        Require(MinLr >= 0 && MinLr <= LearningRate, $"--min-lr must be in [0, lr] (got {MinLr})");
        Require(WarmupSteps >= 0 && GradClip >= 0, "--warmup and --grad-clip must be ≥ 0");
        Require(EvalFraction is >= 0 and < 1, $"--eval-fraction must be in [0, 1) (got {EvalFraction})");
        Require(EvalInterval > 0 && LogInterval > 0, "--eval-interval and the log interval must be positive");
        Require(!string.IsNullOrWhiteSpace(Reward), "--reward is required: exact-match, regex:PATTERN, length:MIN-MAX or a reward-model directory");
        if (Method == "lora") Lora.Validate();
        return this;
    }
}
