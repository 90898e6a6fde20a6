using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Training;

/// <summary>One complete checkpoint: its directory, step and state.json (options, step, file hashes).</summary>
public sealed record Checkpoint(string Directory, long Step, JsonObject State)
{
    /// <summary>The inference files at this step: a model directory that every loader opens.</summary>
    public string ModelDirectory => Path.Combine(Directory, CheckpointStore.ModelFolder);

    /// <summary>A file of the training-only state (optimizer moments, raw weights).</summary>
    public string StateFile(string name) => Path.Combine(Directory, name);

    /// <summary>How the run was started.</summary>
    public RunInfo Run => State["run"].Deserialize<RunInfo>() ?? throw new InvalidDataException($"{Directory}: state.json has no run record");
}
