using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>Reopens a checkpoint's task by the kind recorded in its state.json.</summary>
internal static class TrainingTasks
{
    public static ITrainingTask Open(string? kind, Checkpoint checkpoint, string dir, Device device, int? steps) => kind switch
    {
        LmTrainer.TaskKind => LmTrainer.Open(checkpoint, dir, device, steps),
        DiffusionTrainer.TaskKind => DiffusionTrainer.Open(checkpoint, device, steps),
        VaeTrainer.TaskKind => VaeTrainer.Open(checkpoint, device, steps),
        GanTrainer.TaskKind => GanTrainer.Open(checkpoint, device, steps),
        ClassifierTrainer.TaskKind => ClassifierTrainer.Open(checkpoint, device, steps),
        SftTrainer.TaskKind => SftTrainer.Open(checkpoint, device, steps),
        RewardTrainer.TaskKind => RewardTrainer.Open(checkpoint, device, steps),
        DpoTrainer.TaskKind => DpoTrainer.Open(checkpoint, dir, device, steps),
        GrpoTrainer.TaskKind => GrpoTrainer.Open(checkpoint, device, steps),
        EmbedderTrainer.TaskKind => EmbedderTrainer.Open(checkpoint, device, steps),
        _ => throw new InvalidDataException($"{checkpoint.Directory}: state.json names an unknown task '{kind}'"),
    };
}
