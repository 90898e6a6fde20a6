namespace GenSharp.Training;

/// <summary>When the loop stops, evaluates, checkpoints and logs; every interval is in optimizer steps.</summary>
/// <param name="EvalInterval">0: evaluate only at the end.</param>
public sealed record TrainingSchedule(int Steps, int CheckpointInterval, int EvalInterval = 0, int LogInterval = 10)
{
    public TrainingSchedule Validate()
    {
        if (Steps <= 0) throw new ArgumentException($"--steps must be positive (got {Steps})");
        if (CheckpointInterval <= 0) throw new ArgumentException($"the checkpoint interval must be positive (got {CheckpointInterval})");
        if (EvalInterval < 0 || LogInterval <= 0) throw new ArgumentException("the eval interval must be ≥ 0 and the log interval positive");
        return this;
    }
}
