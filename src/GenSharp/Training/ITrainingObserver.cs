namespace GenSharp.Training;

/// <summary>Progress of one training step as the loop reports it.</summary>
public sealed record StepMetrics(long Step, long TotalSteps, double Loss, double Lr, double GradNorm, double StepMs, double ItemsPerSecond);

/// <summary>The held-out metrics of an evaluation at a step.</summary>
public sealed record EvalMetrics(long Step, IReadOnlyList<(string Name, double Value)> Values);

/// <summary>Receives progress from the <see cref="TrainingLoop"/>; every method is optional.</summary>
public interface ITrainingObserver
{
    void OnStep(StepMetrics m) { }
    void OnEval(EvalMetrics m) { }
    void OnCheckpoint(long step, string dir) { }
}
