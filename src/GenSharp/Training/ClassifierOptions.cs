using System.Text.Json.Serialization;

namespace GenSharp.Training;

/// <summary>How the evaluation classifier is trained; <paramref name="TrainImages"/>/<paramref name="TestImages"/> limit the data (null: all).</summary>
public sealed record ClassifierOptions(
    [property: JsonPropertyName("epochs")] int Epochs = 4,
    [property: JsonPropertyName("batch_size")] int BatchSize = 128,
    [property: JsonPropertyName("learning_rate")] double LearningRate = 2e-3,
    [property: JsonPropertyName("seed")] long Seed = 1337,
    [property: JsonPropertyName("train_images")] int? TrainImages = null,
    [property: JsonPropertyName("test_images")] int? TestImages = null)
{
    public ClassifierOptions Validate()
    {
        if (Epochs <= 0 || BatchSize <= 0) throw new ArgumentException($"--epochs and --batch-size must be positive (got {Epochs}, {BatchSize})");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"--lr must be a positive number (got {LearningRate})");
        return this;
    }
}
