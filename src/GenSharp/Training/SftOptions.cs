using System.Text.Json.Serialization;
using GenSharp.Data;
using GenSharp.Models;

namespace GenSharp.Training;

/// <summary>How a model is fine-tuned (TRL SFTConfig's fields where they exist); stored with the run for resume.</summary>
public sealed record SftOptions
{
    [JsonPropertyName("base_model")] public required string BaseModel { get; init; }   // model directory fine-tuned (LoRA: kept frozen)
    [JsonPropertyName("data")] public required string Data { get; init; }
    [JsonPropertyName("method")] public string Method { get; init; } = "lora";         // full | lora
    [JsonPropertyName("lora")] public LoraConfig Lora { get; init; } = new();
    [JsonPropertyName("data_options")] public SftDataOptions DataOptions { get; init; } = new();
    /// <summary>Add the data's characters the tokenizer lacks, growing the embedding and output layers (trained too, with LoRA).</summary>
    [JsonPropertyName("extend_vocab")] public bool ExtendVocab { get; init; }
    [JsonPropertyName("steps")] public int Steps { get; init; } = 300;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 8;
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 1e-3;   // LoRA; full fine-tuning wants ~1e-4
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 1e-4;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 20;
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.0;   // TRL's default
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
    [JsonPropertyName("eval_interval")] public int EvalInterval { get; init; } = 50;     // also the checkpoint interval
    [JsonPropertyName("eval_batches")] public int EvalBatches { get; init; } = 8;
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 10;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public SftOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        Require(Method is "full" or "lora", $"--method must be full or lora (got '{Method}')");
        Require(Steps > 0, $"--steps must be positive (got {Steps})");
        Require(BatchSize is > 0 and <= 4096, $"--batch-size must be in 1…4096 (got {BatchSize})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr must be a positive number (got {LearningRate})");
        Require(MinLr >= 0 && MinLr <= LearningRate, $"--min-lr must be in [0, lr] (got {MinLr})");
        Require(WarmupSteps >= 0 && WeightDecay >= 0 && GradClip >= 0, "--warmup, --weight-decay and --grad-clip must be ≥ 0");
        Require(EvalInterval > 0 && EvalBatches > 0 && LogInterval > 0, "--eval-interval, --eval-iters and the log interval must be positive");
        if (Method == "lora") Lora.Validate();
        DataOptions.Validate();
        return this;
    }
}
