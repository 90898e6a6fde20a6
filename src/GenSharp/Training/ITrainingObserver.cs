namespace GenSharp.Training;

/// <summary>Receives progress from the <see cref="TrainingLoop"/>; every method is optional.</summary>
public interface ITrainingObserver
{
    void OnStep(StepMetrics m) { }
    void OnEval(EvalMetrics m) { }
    void OnCheckpoint(long step, string dir) { }
}
