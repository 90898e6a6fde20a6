using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Schedulers;

/// <summary>
/// A diffusers <c>scheduler_config.json</c> for a DDPM/DDIM ε-prediction model. Every key is honoured or rejected by
/// name: a key that changes sampling and is not implemented here is an error, never silently ignored. Keys that start
/// with <c>_</c> other than <c>_class_name</c> are diffusers' bookkeeping (e.g. <c>_diffusers_version</c>).
/// </summary>
public sealed record SchedulerConfig(NoiseSchedule Schedule, bool ClipSample = true)
{
    static readonly Dictionary<string, string> Kinds = new() { ["linear"] = "linear", ["scaled_linear"] = "scaled_linear", ["squaredcos_cap_v2"] = "cosine" };
    static readonly string[] Known = ["_class_name", "num_train_timesteps", "beta_schedule", "beta_start", "beta_end", "prediction_type", "clip_sample", "clip_sample_range"];

    /// <summary>Parses and checks the file's JSON; errors name the file and the key.</summary>
    public static SchedulerConfig Parse(string json, string path)
    {
        ArgumentException Bad(string problem) => new($"{path}: {problem}");
        JsonObject node;
        try { node = JsonNode.Parse(json) as JsonObject ?? throw Bad("must be a JSON object"); }
        catch (JsonException e) { throw Bad($"not valid JSON ({e.Message})"); }
        if (node.Select(p => p.Key).FirstOrDefault(k => !k.StartsWith('_') && !Known.Contains(k)) is { } unknown)
            throw Bad($"key '{unknown}' is not supported (GenSharp honours {string.Join(", ", Known)}); remove it or convert the model");
        try
        {
            var cls = (string?)node["_class_name"] ?? "DDPMScheduler";
            if (cls is not ("DDPMScheduler" or "DDIMScheduler")) throw Bad($"_class_name '{cls}' is not supported (DDPMScheduler or DDIMScheduler)");
            var prediction = (string?)node["prediction_type"] ?? "epsilon";
            if (prediction != "epsilon") throw Bad($"prediction_type '{prediction}' is not supported: GenSharp's U-Net predicts the noise (epsilon)");
            var schedule = (string?)node["beta_schedule"] ?? "linear";
            if (!Kinds.TryGetValue(schedule, out var kind)) throw Bad($"beta_schedule '{schedule}' is not supported (use {string.Join(", ", Kinds.Keys)})");
            long steps = node["num_train_timesteps"] is { } n ? (long)n : 1000;
            if (steps < 2 || steps > NoiseSchedule.MaxSteps) throw Bad($"num_train_timesteps = {steps} is outside 2…{NoiseSchedule.MaxSteps}");
            double start = node["beta_start"] is { } b0 ? (double)b0 : NoiseSchedule.DefaultBetaStart;
            double end = node["beta_end"] is { } b1 ? (double)b1 : NoiseSchedule.DefaultBetaEnd;
            if (!(start > 0 && start <= end && end < 1)) throw Bad($"beta_start = {start}, beta_end = {end}: need 0 < beta_start ≤ beta_end < 1");
            bool clip = node["clip_sample"] is not { } c || (bool)c;
            double range = node["clip_sample_range"] is { } r ? (double)r : 1.0;
            if (range != 1.0) throw Bad($"clip_sample_range = {range} is not supported (samples are clipped to [−1, 1])");
            return new SchedulerConfig(new NoiseSchedule(kind, (int)steps, start, end), clip);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw Bad($"a value has the wrong type ({e.Message})");
        }
    }

    public string ToJson() => new JsonObject
    {
        ["_class_name"] = "DDPMScheduler", ["num_train_timesteps"] = Schedule.Steps,
        ["beta_schedule"] = Kinds.First(k => k.Value == Schedule.Kind).Key,
        ["beta_start"] = Schedule.BetaStart, ["beta_end"] = Schedule.BetaEnd, ["prediction_type"] = "epsilon",
        ["clip_sample"] = ClipSample, ["clip_sample_range"] = 1.0,
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
