using System.Text.Json.Serialization;
using GenSharp.Data;

namespace GenSharp.Training;

/// <summary>How a reward model is trained (TRL RewardConfig's fields where they exist); stored with the run for resume.</summary>
public sealed record RewardOptions
{
    [JsonPropertyName("base_model")] public required string BaseModel { get; init; }   // the language model whose decoder the reward model starts from
    [JsonPropertyName("data")] public required string Data { get; init; }              // preference pairs, JSONL (TRL's formats)
    [JsonPropertyName("data_options")] public SftDataOptions DataOptions { get; init; } = new();
    [JsonPropertyName("steps")] public int Steps { get; init; } = 200;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 8;           // pairs per step
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 1e-4;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 1e-5;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 20;
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.0;
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
    [JsonPropertyName("eval_interval")] public int EvalInterval { get; init; } = 50;     // also the checkpoint interval
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 10;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public RewardOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        Require(Steps > 0, $"--steps must be positive (got {Steps})");
        Require(BatchSize is > 0 and <= 2048, $"--batch-size must be in 1…2048 (got {BatchSize})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr must be a positive number (got {LearningRate})");
        Require(MinLr >= 0 && MinLr <= LearningRate, $"--min-lr must be in [0, lr] (got {MinLr})");
        Require(WarmupSteps >= 0 && WeightDecay >= 0 && GradClip >= 0, "--warmup, --weight-decay and --grad-clip must be ≥ 0");
        Require(EvalInterval > 0 && LogInterval > 0, "--eval-interval and the log interval must be positive");
        DataOptions.Validate();
        return this;
    }
}
