using System.Text.Json.Serialization;
using GenSharp.Models;

namespace GenSharp.Training;

/// <summary>How a retrieval encoder is trained by the inverse cloze task; stored with the run for resume.</summary>
public sealed record EmbedderOptions
{
    [JsonPropertyName("data")] public required string Data { get; init; }                 // passages, JSONL {"text": …}
    [JsonPropertyName("model")] public BagEncoderConfig Model { get; init; } = new();
    [JsonPropertyName("eval_fraction")] public double EvalFraction { get; init; } = 0.02;  // passages held out (by a hash of their text)
    [JsonPropertyName("steps")] public int Steps { get; init; } = 2000;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 512;            // pairs per step; the other 511 passages are the negatives
    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 0.05;     // τ of InfoNCE
    [JsonPropertyName("feature_dropout")] public double FeatureDropout { get; init; } = 0.3;   // share of a training text's features dropped each step
    [JsonPropertyName("query_words")] public int QueryWords { get; init; } = 8;           // > 0: queries are random spans of 3…N words of the sentence; 0: the sentence
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 5e-3;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 5e-4;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 50;
    [JsonPropertyName("eval_interval")] public int EvalInterval { get; init; } = 250;       // also the checkpoint interval
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 25;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public EmbedderOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        Require(Steps > 0, $"--steps must be positive (got {Steps})");
        Require(BatchSize is >= 2 and <= 4096, $"--batch-size must be in 2…4096 (got {BatchSize}): in-batch negatives need a second passage");
        Require(Temperature > 0 && double.IsFinite(Temperature), $"--temperature must be a positive number (got {Temperature})");
        Require(FeatureDropout is >= 0 and < 1, $"--feature-dropout must be in [0, 1) (got {FeatureDropout})");
        Require(QueryWords is 0 or (>= 3 and <= 64), $"--query-words must be 0 (whole sentences) or in 3…64 (got {QueryWords})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr must be a positive number (got {LearningRate})");
        Require(MinLr >= 0 && MinLr <= LearningRate, $"--min-lr must be in [0, lr] (got {MinLr})");
        Require(WarmupSteps >= 0, "--warmup must be ≥ 0");
        Require(EvalFraction is >= 0 and < 1, $"--eval-fraction must be in [0, 1) (got {EvalFraction})");
        Require(EvalInterval > 0 && LogInterval > 0, "--eval-interval and the log interval must be positive");
        Model.Validate();
        return this;
    }
}
