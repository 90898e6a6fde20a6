using System.Text.Json.Serialization;

namespace GenSharp.Training;

/// <summary>How a VAE is trained; stored in its training state so a resume continues the same run.</summary>
public sealed record VaeTrainOptions
{
    [JsonPropertyName("steps")] public int Steps { get; init; } = 8_000;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 128;
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 2e-3;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 1e-4;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 100;
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 100.0;        // the loss is a sum over pixels: large but healthy norms
    [JsonPropertyName("beta")] public double Beta { get; init; } = 1.0;                   // KL weight (β-VAE, Higgins et al. 2017); 1 = the ELBO
    [JsonPropertyName("checkpoint_interval")] public int CheckpointInterval { get; init; } = 1000;
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 10;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public VaeTrainOptions Validate()
    {
        if (Steps <= 0 || BatchSize <= 0) throw new ArgumentException("steps and batch size must be positive");
        if (!(LearningRate > 0) || MinLr < 0 || MinLr > LearningRate) throw new ArgumentException("need 0 ≤ min lr ≤ lr, lr > 0");
        if (!double.IsFinite(Beta) || Beta < 0) throw new ArgumentException($"beta must be a finite number ≥ 0 (got {Beta})");
        if (CheckpointInterval <= 0 || LogInterval <= 0) throw new ArgumentException("intervals must be positive");
        return this;
    }
}
