using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Imaging;
using GenSharp.IO;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>
/// The one training loop: runs any <see cref="ITrainingTask"/> in a run directory. It owns progress, timing, the eval
/// and checkpoint cadence, metrics.jsonl, loss.png, samples.png, metrics.json, the NaN guard, cancellation (a stop
/// saves a checkpoint) and crash-safe checkpoints (<see cref="CheckpointStore"/>). A resumed run repeats an
/// uninterrupted one bit for bit on CPU, because tasks draw batches and noise as functions of (seed, step).
/// </summary>
public sealed class TrainingLoop : IDisposable
{
    public const string MetricsLog = "metrics.jsonl", MetricsSummary = "metrics.json", SamplesImage = "samples.png";

    readonly string _dir;
    readonly RunInfo _run;
    readonly List<(long Step, double Loss)> _curve = [];
    readonly Dictionary<string, List<(long, double)>> _series = [];   // extras and evaluated losses, for loss.png
    Dictionary<string, double> _lastEval = [];
    long _step;
    double _trainSeconds;

    TrainingLoop(string dir, ITrainingTask task, RunInfo run)
    {
        task.Schedule.Validate();
        (_dir, Task, _run) = (dir, task, run);
    }

    public ITrainingTask Task { get; }

    /// <summary>Files drawn from the curves into every checkpoint (loss.png: GenSharp.Plotting's LossPlot).</summary>
    public IList<ICheckpointReport> Reports { get; } = new List<ICheckpointReport>();
    public long Step => _step;
    public long Steps => Task.Schedule.Steps;
    public string Directory => _dir;

    /// <summary>Before a new run's task is built: refuses a directory that holds a run, and clears what a killed first attempt left.</summary>
    public static void BeginNew(string dir)
    {
        if (CheckpointStore.HasRun(dir))
            throw new InvalidOperationException($"{dir} already holds a training run; pass --resume to continue it or choose another --out");
        CheckpointStore.CleanUp(dir);
        System.IO.Directory.CreateDirectory(dir);
        File.Delete(Path.Combine(dir, MetricsLog));
    }

    /// <summary>A new run of <paramref name="task"/> in <paramref name="dir"/> (call <see cref="BeginNew"/> first).</summary>
    public static TrainingLoop New(string dir, ITrainingTask task, RunInfo run) => new(dir, task, run);

    /// <summary>
    /// Reopens the run in <paramref name="dir"/> at its newest complete checkpoint, whatever its task; <paramref name="steps"/>
    /// extends it. Partial checkpoints and temp files of a killed run are deleted, metrics.jsonl is trimmed to the checkpoint.
    /// </summary>
    public static TrainingLoop Resume(string dir, Device device, int? steps = null) => Resume(dir, device, steps, null);

    // open: how a task that needs more than its checkpoint reopens (GRPO with the program's reward function).
    internal static TrainingLoop Resume(string dir, Device device, int? steps, Func<Checkpoint, ITrainingTask>? open)
    {
        var checkpoint = CheckpointStore.Recover(dir);
        var state = checkpoint.State;
        var run = checkpoint.Run;
        var task = open?.Invoke(checkpoint) ?? TrainingTasks.Open((string?)state["task"], checkpoint, dir, device, steps);
        var loop = new TrainingLoop(dir, task, run) { _step = checkpoint.Step, _trainSeconds = (double)state["train_seconds"]! };
        foreach (var node in TrimMetrics(dir, loop._step))
        {
            long s = (long)node["step"]!;
            var values = node.AsObject().Where(p => p.Key is not ("step" or "lr" or "grad_norm" or "ms_per_step") && !p.Key.EndsWith("_per_s"))
                .Select(p => (p.Key, (double)p.Value!)).ToArray();
            if (node["loss"] is not null) loop.Record(s, values);
            else
            {
                loop._lastEval = values.ToDictionary(v => v.Key, v => v.Item2);
                loop.RecordEval(s, values);
            }
        }
        return loop;
    }

    /// <summary>Trains until the schedule's last step or cancellation; saves a checkpoint either way.</summary>
    public TrainResult Run(CancellationToken cancel = default, ITrainingObserver? observer = null)
    {
        var schedule = Task.Schedule;
        var wall = Stopwatch.StartNew();
        long start = _step;
        double msSum = 0;
        while (_step < schedule.Steps && !cancel.IsCancellationRequested)
        {
            var sw = Stopwatch.StartNew();
            StepLosses s;
            using (NewDisposeScope()) s = Task.Step(_step);
            if (!double.IsFinite(s.Loss)) throw Diverged($"loss became {s.Loss} at step {_step + 1}");
            foreach (var (name, value) in s.Extra)
                if (!double.IsFinite(value)) throw Diverged($"{name} became {value} at step {_step + 1} (loss {s.Loss})");
            if (!double.IsFinite(s.GradNorm)) throw Diverged($"gradient norm became {s.GradNorm} at step {_step + 1}");
            _step++;
            double ms = sw.Elapsed.TotalMilliseconds;
            _trainSeconds += ms / 1000;
            msSum += ms;
            observer?.OnStep(new StepMetrics(_step, schedule.Steps, s.Loss, s.Lr, s.GradNorm, ms, Task.ItemsPerStep / (ms / 1000)));
            bool last = _step == schedule.Steps;
            if (_step % schedule.LogInterval == 0 || last) Log(s, ms);
            if (schedule.EvalInterval > 0 && _step % schedule.EvalInterval == 0 || last) Evaluate(observer);
            if (_step % schedule.CheckpointInterval == 0 || last || cancel.IsCancellationRequested)
            {
                SaveCheckpoint();
                observer?.OnCheckpoint(_step, _dir);
            }
        }
        long done = _step - start;
        double mean = done > 0 ? msSum / done : 0;
        return new TrainResult(_step, _curve.Count > 0 ? _curve[^1].Loss : null, _lastEval, mean, mean > 0 ? Task.ItemsPerStep / (mean / 1000) : 0,
            wall.Elapsed, cancel.IsCancellationRequested && _step < schedule.Steps);
    }

    TrainingDivergedException Diverged(string what)
    {
        var last = CheckpointStore.HasRun(_dir) ? $"the last checkpoint in {_dir} is intact" : "no checkpoint was written";
        return new TrainingDivergedException($"training diverged: {what}; {last}. Try a lower --lr (or --grad-clip).");
    }

    void Log(StepLosses s, double ms)
    {
        var row = new[] { ("loss", s.Loss) }.Concat(s.Extra).ToArray();
        Record(_step, row);
        var line = new JsonObject { ["step"] = _step };
        foreach (var (k, v) in row) line[k] = Math.Round(v, 5);
        line["lr"] = s.Lr;
        line["grad_norm"] = Math.Round(s.GradNorm, 4);
        line["ms_per_step"] = Math.Round(ms, 2);
        line[$"{Task.Unit}_per_s"] = Math.Round(Task.ItemsPerStep / (ms / 1000));
        AppendMetrics(line);
    }

    void Evaluate(ITrainingObserver? observer)
    {
        IReadOnlyList<(string Name, double Value)> values;
        using (NewDisposeScope()) values = Task.Evaluate();
        if (values.Count == 0) return;
        if (values.FirstOrDefault(v => !double.IsFinite(v.Value)) is { Name: not null } bad)
            throw Diverged($"{bad.Name} became {bad.Value} at step {_step}");
        _lastEval = values.ToDictionary(v => v.Name, v => v.Value);
        RecordEval(_step, values);
        var line = new JsonObject { ["step"] = _step };
        foreach (var (k, v) in values) line[k] = Math.Round(v, 5);
        AppendMetrics(line);
        observer?.OnEval(new EvalMetrics(_step, values));
    }

    void Record(long step, (string Name, double Value)[] row)
    {
        foreach (var (name, value) in row)
        {
            if (name == "loss") _curve.Add((step, value));
            else Series(name).Add((step, value));
        }
    }

    // Evaluated losses are drawn beside the training loss; other metrics (accuracy) stay in metrics.jsonl.
    void RecordEval(long step, IEnumerable<(string Name, double Value)> values)
    {
        foreach (var (name, value) in values.Where(v => v.Name.EndsWith("loss")))
            Series(name).Add((step, value));
    }

    List<(long, double)> Series(string name) => _series.TryGetValue(name, out var list) ? list : _series[name] = [];

    void SaveCheckpoint()
    {
        string name = Path.GetFileName(Path.GetFullPath(_dir));
        double? last = _curve.Count > 0 ? _curve[^1].Loss : null;
        var summary = new RunSummary(name, _run, _step, _trainSeconds, last, _lastEval);
        var state = new JsonObject
        {
            ["task"] = Task.Kind,
            ["train_seconds"] = _trainSeconds,
            ["rng"] = "counter-based: batches, noise and dropout are functions of (seed, step)",
            ["options"] = JsonSerializer.SerializeToNode(Task.Options, Task.Options.GetType()),
            ["run"] = JsonSerializer.SerializeToNode(_run),
        };
        CheckpointStore.Write(_dir, _step, state, checkpoint =>
        {
            var model = checkpoint.ModelDirectory;
            Task.Save(checkpoint, Task.ModelCard(summary));
            using (NewDisposeScope())
                if (Task.Samples() is var (images, columns)) ImageGrid.Save(Path.Combine(model, SamplesImage), images, columns, scale: 2);
            WriteSummary(Path.Combine(model, MetricsSummary), last);
            var series = new List<(string, IReadOnlyList<(long, double)>)> { ("loss", _curve.Select(p => (p.Step, p.Loss)).ToList()) };
            series.AddRange(_series.Where(e => !e.Key.EndsWith("grad_norm")).Select(e => (e.Key, (IReadOnlyList<(long, double)>)e.Value)));
            if (_curve.Count > 0)
                foreach (var report in Reports) report.Write(model, new TrainingCurves($"{name} — step {_step}", _step, series));
        });
    }

    void WriteSummary(string path, double? last)
    {
        var summary = new JsonObject
        {
            ["step"] = _step,
            ["train_loss"] = _lastEval.TryGetValue("train_loss", out var t) ? t : last,
            ["parameters"] = Task.ParameterCount,
            ["train_seconds"] = Math.Round(_trainSeconds, 1),
            ["ms_per_step"] = _step > 0 ? Math.Round(_trainSeconds * 1000 / _step, 2) : null,
        };
        foreach (var (k, v) in _lastEval) summary[k] = v;
        foreach (var (k, v) in _series.Where(s => !_lastEval.ContainsKey(s.Key))) summary[k] = v.Count > 0 ? v[^1].Item2 : null;
        AtomicFile.WriteAllText(path, summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    void AppendMetrics(JsonObject line)
    {
        using var w = File.AppendText(Path.Combine(_dir, MetricsLog));
        w.WriteLine(line.ToJsonString());
    }

    /// <summary>On resume: keeps the metrics lines up to <paramref name="step"/> (a killed run may have written more) and returns them parsed.</summary>
    static List<JsonNode> TrimMetrics(string dir, long step)
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

    public void Dispose() => Task.Dispose();
}
