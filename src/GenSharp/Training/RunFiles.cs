using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.IO;

namespace GenSharp.Training;

/// <summary>
/// The files every resumable run keeps: <c>training_state/state.json</c>, which pins the checkpoint files
/// by SHA-256 (written last, so a kill mid-save is detected on resume), and <c>metrics.jsonl</c>.
/// </summary>
public static class RunFiles
{
    public const string StateDir = "training_state", StateFile = "state.json", MetricsLog = "metrics.jsonl", MetricsSummary = "metrics.json", LossPlot = "loss.png";

    public static string StatePath(string dir) => Path.Combine(dir, StateDir, StateFile);

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    /// <summary>Writes state.json with the hash of each file under its key.</summary>
    public static void WriteState(string dir, JsonObject state, params (string Key, string Path)[] pinned)
    {
        foreach (var (key, path) in pinned) state[key] = Sha256(path);
        Directory.CreateDirectory(Path.Combine(dir, StateDir));
        AtomicFile.WriteAllText(StatePath(dir), state.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads state.json and checks every pinned file; errors say which file and why.</summary>
    public static JsonObject ReadState(string dir, params (string Key, string Path)[] pinned)
    {
        var statePath = StatePath(dir);
        if (!File.Exists(statePath)) throw new FileNotFoundException($"{statePath}: no training state to resume from (was the run started with --out {dir}?)", statePath);
        JsonObject state;
        try { state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new InvalidDataException($"{statePath}: not valid JSON ({e.Message})"); }
        foreach (var (key, path) in pinned)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint file missing", path);
            if (Sha256(path) != (string?)state[key])
                throw new InvalidDataException($"{path}: does not match the checkpoint recorded in {statePath} (the run was killed while saving?)");
        }
        return state;
    }

    /// <summary>The error for a NaN/Inf loss or gradient, saying whether a checkpoint survives and what to try.</summary>
    public static TrainingDivergedException Diverged(string dir, string what, string hint)
    {
        var last = File.Exists(StatePath(dir)) ? $"the last checkpoint in {dir} is intact" : "no checkpoint was written";
        return new TrainingDivergedException($"training diverged: {what}; {last}. {hint}");
    }

    public static void AppendMetrics(string dir, object line)
    {
        using var w = File.AppendText(Path.Combine(dir, MetricsLog));
        w.WriteLine(JsonSerializer.Serialize(line));
    }

    /// <summary>On resume: keeps the metrics lines up to <paramref name="step"/> (a killed run may have written more) and returns them parsed.</summary>
    public static List<JsonNode> TrimMetrics(string dir, long step)
    {
        var path = Path.Combine(dir, MetricsLog);
        var kept = new List<JsonNode>();
        if (!File.Exists(path)) return kept;
        var lines = new List<string>();
        foreach (var line in File.ReadLines(path))
        {
            JsonNode? node;
            try { node = JsonNode.Parse(line); } catch (JsonException) { continue; }   // torn last line
            if (node?["step"] is not { } s || (long)s > step) continue;
            lines.Add(line);
            kept.Add(node);
        }
        AtomicFile.WriteAllText(path, lines.Count == 0 ? "" : string.Join("\n", lines) + "\n");
        return kept;
    }
}
