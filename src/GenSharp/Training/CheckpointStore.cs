using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.IO;

namespace GenSharp.Training;

/// <summary>
/// Crash-safe checkpoints of a run directory. A checkpoint is complete or absent:
/// <code>
/// DIR/training_state/step-000000500/          complete: written as step-000000500.partial/, then renamed
///     model/         the inference files (config.json, model.safetensors, …: a model directory)
///     *.safetensors  training-only state (optimizer moments, raw weights)
///     state.json     written last inside the folder: step, options, SHA-256 of every weight and config file
/// DIR/config.json, DIR/model.safetensors, …   the newest checkpoint's model/ files, hard-linked (published)
/// </code>
/// The previous checkpoint is deleted only after the new one is complete, so kill -9 at any instant leaves a resumable
/// run; <see cref="Recover"/> deletes partial folders and temp files and publishes the newest checkpoint again.
/// </summary>
internal static class CheckpointStore
{
    public const string StateDir = "training_state", StateFile = "state.json", ModelFolder = "model";
    const string Prefix = "step-", PartialSuffix = ".partial";

    // Files the user reads or edits freely (model card, plots): not pinned, so editing them never blocks a resume.
    static bool Pinned(string relative) =>
        !(relative.EndsWith(".png") || relative.EndsWith(".md") || relative.EndsWith("metrics.json") || relative.EndsWith("chat_template.json"));

    static string Root(string dir) => Path.Combine(dir, StateDir);

    static string Name(long step) => $"{Prefix}{step:D9}";

    /// <summary>True when <paramref name="dir"/> holds a complete checkpoint (or one of an earlier layout).</summary>
    public static bool HasRun(string dir) => Complete(dir).Any() || File.Exists(Path.Combine(Root(dir), StateFile));

    static IEnumerable<(long Step, string Path)> Complete(string dir) =>
        !System.IO.Directory.Exists(Root(dir)) ? []
        : System.IO.Directory.GetDirectories(Root(dir), Prefix + "*")
            .Select(p => (Name: Path.GetFileName(p), Path: p))
            .Where(p => !p.Name.EndsWith(PartialSuffix) && long.TryParse(p.Name[Prefix.Length..], out _) && File.Exists(Path.Combine(p.Path, StateFile)))
            .Select(p => (long.Parse(p.Name[Prefix.Length..]), p.Path))
            .OrderBy(p => p.Item1);

    /// <summary>
    /// Writes the checkpoint for <paramref name="step"/>: <paramref name="write"/> fills a fresh folder (model files into
    /// <c>model/</c>, training state beside it), then state.json pins the files, the folder is renamed into place, its model
    /// files are published into <paramref name="dir"/>, and older checkpoints are deleted.
    /// </summary>
    public static Checkpoint Write(string dir, long step, JsonObject state, Action<Checkpoint> write)
    {
        var final = Path.Combine(Root(dir), Name(step));
        var partial = final + PartialSuffix;
        // A complete checkpoint is never replaced: deleting it first would open a window with no checkpoint at all.
        if (System.IO.Directory.Exists(final)) throw new InvalidOperationException($"{final}: the checkpoint of step {step} exists already");
        if (System.IO.Directory.Exists(partial)) System.IO.Directory.Delete(partial, recursive: true);
        System.IO.Directory.CreateDirectory(Path.Combine(partial, ModelFolder));
        var checkpoint = new Checkpoint(partial, step, state);
        using var faults = FaultInjection.Checkpoint(step);
        write(checkpoint);
        var files = new JsonObject();
        foreach (var (relative, path) in Files(partial).Where(f => Pinned(f.Relative))) files[relative] = FileHash.Sha256(path);
        state["step"] = step;
        state["files"] = files;
        // Inside a folder that is not yet in place, a plain write is enough: the rename below is the atomic switch.
        File.WriteAllText(Path.Combine(partial, StateFile), state.ToJsonString(Indented));
        FaultInjection.Boundary(step);
        System.IO.Directory.Move(partial, final);
        FaultInjection.Boundary(step);
        var complete = checkpoint with { Directory = final };
        Publish(dir, complete, () => FaultInjection.Boundary(step));
        foreach (var (_, path) in Complete(dir).Where(c => c.Step != step))
        {
            System.IO.Directory.Delete(path, recursive: true);
            FaultInjection.Boundary(step);
        }
        return complete;
    }

    /// <summary>
    /// The newest complete checkpoint of the run in <paramref name="dir"/>, verified against its hashes, after deleting what a
    /// killed run left (partial folders, temp files, older checkpoints) and publishing the checkpoint's model files again.
    /// </summary>
    public static Checkpoint Recover(string dir)
    {
        if (!System.IO.Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: run directory not found");
        if (File.Exists(Path.Combine(Root(dir), StateFile)))
            throw new InvalidDataException($"{Path.Combine(Root(dir), StateFile)}: a checkpoint in the layout of an earlier GenSharp; it cannot be resumed (start a new run)");
        var all = Complete(dir).ToList();
        if (all.Count == 0)
            throw new FileNotFoundException($"{dir}: no complete checkpoint to resume from (was the run started with --out {dir}, and did it reach its first checkpoint?)");
        var (step, path) = all[^1];
        var statePath = Path.Combine(path, StateFile);
        JsonObject state;
        try { state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        { throw new InvalidDataException($"{statePath}: not valid JSON ({e.Message})"); }
        if (state["files"] is not JsonObject files) throw new InvalidDataException($"{statePath}: lists no checkpoint files");
        foreach (var (relative, hash) in files)
        {
            var file = Path.Combine(path, relative);
            if (!File.Exists(file)) throw new FileNotFoundException($"{file}: checkpoint file missing", file);
            if (FileHash.Sha256(file) != (string?)hash)
                throw new InvalidDataException($"{file}: does not match the checkpoint recorded in {statePath} (the file was changed or damaged after it was saved)");
        }
        CleanUp(dir, keep: path);
        var checkpoint = new Checkpoint(path, step, state);
        Publish(dir, checkpoint, null);
        return checkpoint;
    }

    /// <summary>Before a new run: deletes a killed first attempt's partial folders and temp files.</summary>
    public static void CleanUp(string dir, string? keep = null)
    {
        if (System.IO.Directory.Exists(Root(dir)))
            foreach (var d in System.IO.Directory.GetDirectories(Root(dir), Prefix + "*").Where(d => d != keep))
                System.IO.Directory.Delete(d, recursive: true);
        if (System.IO.Directory.Exists(dir))
            foreach (var tmp in System.IO.Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories)) File.Delete(tmp);
    }

    // The model files of a checkpoint become the run directory's, one atomic rename each.
    static void Publish(string dir, Checkpoint checkpoint, Action? boundary)
    {
        foreach (var (relative, path) in Files(checkpoint.ModelDirectory))
        {
            var target = Path.Combine(dir, relative);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            FileLinks.Publish(path, target, boundary);
        }
    }

    static IEnumerable<(string Relative, string Path)> Files(string root) =>
        System.IO.Directory.GetFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => (Path.GetRelativePath(root, p).Replace('\\', '/'), p));


    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
