namespace GenSharp.Training;

/// <summary>Loss or gradient became NaN or infinite; the run stopped and the last checkpoint was left untouched.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
