using System.Text.Json.Serialization;

namespace GenSharp.Training;

/// <summary>How a GAN is trained; stored in its training state so a resume continues the same run.</summary>
public sealed record GanTrainOptions
{
    [JsonPropertyName("steps")] public int Steps { get; init; } = 10_000;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 64;
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 2e-4;   // both networks (Adam, β = (0.5, 0.999) as in DCGAN)
    [JsonPropertyName("loss")] public string Loss { get; init; } = "hinge";                 // hinge | non-saturating
    [JsonPropertyName("mode_seeking")] public double ModeSeeking { get; init; } = 1.0;      // λ of the mode-seeking term (MSGAN); 0 = off
    [JsonPropertyName("ema_decay")] public double EmaDecay { get; init; } = 0.999;          // EMA of G, used for sampling
    [JsonPropertyName("checkpoint_interval")] public int CheckpointInterval { get; init; } = 1000;
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 10;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    public GanTrainOptions Validate()
    {
        if (Steps <= 0 || BatchSize <= 0) throw new ArgumentException("steps and batch size must be positive");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"learning rate must be a positive number (got {LearningRate})");
        if (Loss is not ("hinge" or "non-saturating")) throw new ArgumentException($"unknown GAN loss '{Loss}' (use hinge or non-saturating)");
        if (!double.IsFinite(ModeSeeking) || ModeSeeking < 0) throw new ArgumentException($"mode-seeking weight must be ≥ 0 (got {ModeSeeking})");
        if (BatchSize % 2 != 0) throw new ArgumentException($"batch size must be even: generated images come in pairs (got {BatchSize})");
        if (EmaDecay is < 0 or >= 1) throw new ArgumentException("EMA decay must be in [0, 1)");
        if (CheckpointInterval <= 0 || LogInterval <= 0) throw new ArgumentException("intervals must be positive");
        return this;
    }
}
