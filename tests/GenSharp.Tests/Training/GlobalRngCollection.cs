namespace GenSharp.Tests.Training;

/// <summary>
/// Tests that check bit-identical training runs. Dropout and default weight initialisation draw from
/// TorchSharp's process-wide generator (F.dropout takes no generator), so any other test building a model
/// or sampling on another thread would change their random streams: they run alone, after the rest.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "global torch RNG";
}
