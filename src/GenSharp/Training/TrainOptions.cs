using System.Text.Json.Serialization;
using GenSharp.Models;

namespace GenSharp.Training;

/// <summary>Optimisation settings for language-model pretraining. Defaults follow nanoGPT's shakespeare_char config.</summary>
public sealed record TrainOptions
{
    [JsonPropertyName("steps")] public int Steps { get; init; } = 2000;                  // optimizer steps (max_iters)
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 12;           // sequences per micro-batch
    [JsonPropertyName("grad_accum")] public int GradAccum { get; init; } = 1;            // micro-batches per step
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 1e-3;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 1e-4;              // cosine floor, lr/10
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 100;
    [JsonPropertyName("decay_steps")] public int? DecaySteps { get; init; }              // null: = steps
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.1;
    [JsonPropertyName("beta1")] public double Beta1 { get; init; } = 0.9;
    [JsonPropertyName("beta2")] public double Beta2 { get; init; } = 0.99;               // small data: faster second moment
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;         // 0 disables
    [JsonPropertyName("eval_interval")] public int EvalInterval { get; init; } = 250;    // also the checkpoint interval
    [JsonPropertyName("eval_iters")] public int EvalIters { get; init; } = 20;           // batches per loss estimate
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 10;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public TrainOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"invalid training option: {message}"); }
        Require(Steps > 0, $"--steps must be positive (got {Steps})");
        Require(BatchSize > 0, $"--batch-size must be positive (got {BatchSize})");
        Require(GradAccum > 0, $"--grad-accum must be positive (got {GradAccum})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr must be a positive number (got {LearningRate})");
        Require(MinLr >= 0 && MinLr <= LearningRate, $"--min-lr must be in [0, lr] (got {MinLr})");
        Require(WarmupSteps >= 0, "--warmup must be ≥ 0");
        Require(EvalInterval > 0 && EvalIters > 0 && LogInterval > 0, "--eval-interval, --eval-iters and log interval must be positive");
        Require(GradClip >= 0 && WeightDecay >= 0, "--grad-clip and --weight-decay must be ≥ 0");
        return this;
    }
}

