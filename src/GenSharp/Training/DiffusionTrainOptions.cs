using System.Text.Json.Serialization;
using GenSharp.Schedulers;

namespace GenSharp.Training;

/// <summary>How a diffusion model is trained; stored in its training state so a resume continues the same run.</summary>
public sealed record DiffusionTrainOptions
{
    [JsonPropertyName("steps")] public int Steps { get; init; } = 10_000;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 32;
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 5e-4;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 5e-5;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 200;
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
    [JsonPropertyName("ema_decay")] public double EmaDecay { get; init; } = 0.999;        // EMA of weights, used for sampling
    [JsonPropertyName("label_dropout")] public double LabelDropout { get; init; } = 0.1;  // classifier-free guidance training
    [JsonPropertyName("beta_schedule")] public string BetaSchedule { get; init; } = "cosine";
    [JsonPropertyName("train_timesteps")] public int TrainTimesteps { get; init; } = 1000;
    [JsonPropertyName("checkpoint_interval")] public int CheckpointInterval { get; init; } = 500;  // also redraws samples.png
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 10;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public DiffusionTrainOptions Validate()
    {
        void Require(bool ok, string m) { if (!ok) throw new ArgumentException(m); }
        Require(Steps > 0 && BatchSize > 0, "steps and batch size must be positive");
        Require(LearningRate > 0 && MinLr >= 0 && MinLr <= LearningRate, "need 0 ≤ min lr ≤ lr, lr > 0");
        Require(EmaDecay is >= 0 and < 1, "EMA decay must be in [0, 1)");
        Require(LabelDropout is >= 0 and <= 1, "label dropout must be in [0, 1]");
        Require(CheckpointInterval > 0 && LogInterval > 0, "intervals must be positive");
        _ = new NoiseSchedule(BetaSchedule, TrainTimesteps);
        return this;
    }
}
