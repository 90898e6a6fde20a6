using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>
/// What one kind of training contributes to the <see cref="TrainingLoop"/>: its step, its evaluation and its files.
/// The loop owns everything else: progress, timing, cadence, metrics.jsonl, loss.png, the NaN guard, cancellation
/// and crash-safe checkpoints. Implemented by pretraining, classifier, diffusion, VAE and GAN training.
/// </summary>
public interface ITrainingTask : IDisposable
{
    /// <summary>Stored in state.json; picks the task again on resume (see <see cref="TrainingTasks"/>).</summary>
    string Kind { get; }

    /// <summary>The task's options, stored in state.json so a resume continues the same run.</summary>
    object Options { get; }

    TrainingSchedule Schedule { get; }

    /// <summary>What throughput counts ("tok", "img") and how many of them one step processes.</summary>
    string Unit { get; }
    long ItemsPerStep { get; }

    long ParameterCount { get; }

    /// <summary>Optimisation step <paramref name="step"/> (0-based), inside the loop's DisposeScope. Batches, noise and
    /// dropout must be functions of the seed and the step, so a resumed run repeats an uninterrupted one exactly.</summary>
    StepLosses Step(long step);

    /// <summary>Held-out metrics (e.g. train_loss, val_loss, accuracy); by default none (the task has no evaluation).</summary>
    IReadOnlyList<(string Name, double Value)> Evaluate() => [];

    /// <summary>Writes the inference files into <see cref="Checkpoint.ModelDirectory"/> and the training-only state
    /// beside them (<see cref="Checkpoint.StateFile"/>). The folder is new and empty.</summary>
    void Save(Checkpoint checkpoint, string modelCard);

    /// <summary>A grid drawn at every checkpoint (samples.png): images (N, C, H, W) in [−1, 1] and a column count; by default none.</summary>
    (Tensor Images, int Columns)? Samples() => null;

    string ModelCard(RunSummary run);
}
