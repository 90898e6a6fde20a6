using System.Text.Json.Serialization;
using GenSharp.Alignment;
using GenSharp.Data;
using GenSharp.Models;

namespace GenSharp.Training;

/// <summary>How a language model is aligned with DPO (TRL DPOConfig's fields where they exist); stored with the run for resume.</summary>
public sealed record DpoOptions
{
    [JsonPropertyName("base_model")] public required string BaseModel { get; init; }   // the policy's start, and the frozen reference
    [JsonPropertyName("data")] public required string Data { get; init; }              // preference pairs, JSONL (TRL's formats)
    [JsonPropertyName("method")] public string Method { get; init; } = "lora";         // full | lora
    [JsonPropertyName("lora")] public LoraConfig Lora { get; init; } = new();
    [JsonPropertyName("beta")] public double Beta { get; init; } = 0.1;
    [JsonPropertyName("loss_type")] public string Loss { get; init; } = "sigmoid";     // sigmoid (DPO) | ipo
    [JsonIgnore] public PreferenceLossType LossType => Loss == "ipo" ? PreferenceLossType.Ipo : PreferenceLossType.Sigmoid;
    [JsonPropertyName("data_options")] public SftDataOptions DataOptions { get; init; } = new();
    [JsonPropertyName("steps")] public int Steps { get; init; } = 200;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 8;           // pairs per step
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 1e-4;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 1e-5;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 10;
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
    [JsonPropertyName("eval_interval")] public int EvalInterval { get; init; } = 50;     // also the checkpoint interval
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 10;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public DpoOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        Require(Method is "full" or "lora", $"--method must be full or lora (got '{Method}')");
        Require(Beta > 0 && double.IsFinite(Beta), $"--beta must be a positive number (got {Beta})");
        Require(Loss is "sigmoid" or "ipo", $"--loss must be sigmoid or ipo (got '{Loss}')");
        Require(Steps > 0, $"--steps must be positive (got {Steps})");
        Require(BatchSize is > 0 and <= 2048, $"--batch-size must be in 1…2048 (got {BatchSize})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr must be a positive number (got {LearningRate})");
        Require(MinLr >= 0 && MinLr <= LearningRate, $"--min-lr must be in [0, lr] (got {MinLr})");
        Require(WarmupSteps >= 0 && GradClip >= 0, "--warmup and --grad-clip must be ≥ 0");
        Require(EvalInterval > 0 && LogInterval > 0, "--eval-interval and the log interval must be positive");
        if (Method == "lora") Lora.Validate();
        DataOptions.Validate();
        return this;
    }
}
