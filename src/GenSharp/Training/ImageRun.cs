using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.IO;
using GenSharp.Imaging;
using GenSharp.Reporting;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>What one optimisation step reports: the main loss (progress bar, loss.png), gradient norm, lr, and named extras.</summary>
public sealed record StepLosses(double Loss, double GradNorm, double Lr, params (string Name, double Value)[] Extra);

/// <summary>Facts a model card needs about its run.</summary>
public sealed record ImageRunInfo(string Name, string Command, string Data, long Step, double TrainSeconds, double? LastLoss)
{
    /// <summary>The model card's line on time and loss.</summary>
    public string TimeLine =>
        $"- train time {TimeSpan.FromSeconds(TrainSeconds):hh\\:mm\\:ss} ({TrainSeconds * 1000 / Math.Max(1, Step):F0} ms/step); last logged loss {LastLoss?.ToString("F4") ?? "—"}";
}

/// <summary>
/// One image model family's part of a resumable run (diffusion, VAE, GAN): its training step and its files.
/// <see cref="ImageRun"/> owns everything else: the loop, metrics, checkpoints, sample grids and resume.
/// </summary>
public interface IImageTrainingTask : IDisposable
{
    int BatchSize { get; }
    long ParameterCount { get; }

    /// <summary>Optimisation step <paramref name="step"/> (0-based), inside the caller's DisposeScope. Batches and noise
    /// must be functions of the run's seed and the step, so a resumed run repeats an uninterrupted one exactly.</summary>
    StepLosses Step(long step);

    /// <summary>Writes the inference files into <paramref name="dir"/> and training-only state into <paramref name="stateDir"/>;
    /// the files to pin are <see cref="Checkpoint"/>.</summary>
    void Save(string dir, string stateDir, string modelCard);

    /// <summary>The checkpoint files as (state.json key, path); the same list on save and on resume.</summary>
    IReadOnlyList<(string Key, string Path)> Checkpoint(string dir, string stateDir);

    /// <summary>The grid drawn at every checkpoint: images (N, C, H, W) in [−1, 1] and its column count.</summary>
    (Tensor Images, int Columns) Samples();

    string ModelCard(ImageRunInfo run);
}

/// <summary>
/// A resumable image training run in a directory: calls the task's step, logs metrics.jsonl, saves checkpoints
/// (model files, training_state/ with state.json pinning every file by hash, samples.png, loss.png, metrics.json).
/// </summary>
public sealed class ImageRun : IDisposable
{
    readonly string _dir, _dataSpec, _command;
    readonly JsonNode _options;
    readonly int _logInterval, _checkpointInterval;
    readonly List<(long Step, double Loss)> _curve = [];
    readonly Dictionary<string, List<(long, double)>> _extra = [];
    long _step;
    double _trainSeconds;

    ImageRun(string dir, IImageTrainingTask task, int steps, int checkpointInterval, int logInterval, string dataSpec, string command, JsonNode options)
    {
        (_dir, Task, Steps, _checkpointInterval, _logInterval, _dataSpec, _command, _options) = (dir, task, steps, checkpointInterval, logInterval, dataSpec, command, options);
        if (steps <= 0 || checkpointInterval <= 0 || logInterval <= 0) throw new ArgumentException("steps and intervals must be positive");
    }

    public IImageTrainingTask Task { get; }
    public long Step => _step;
    public int Steps { get; }
    public string Directory => _dir;

    /// <summary>Refuses to start over an existing run; returns the data set.</summary>
    public static ImageDataset BeginNew(string dir, string dataSpec, int imageSize, int channels)
    {
        if (File.Exists(RunFiles.StatePath(dir)))
            throw new InvalidOperationException($"{dir} already holds a training run; pass --resume to continue it or choose another --out");
        var data = ImageData.Load(dataSpec, train: true, imageSize, channels);
        System.IO.Directory.CreateDirectory(dir);
        File.Delete(Path.Combine(dir, RunFiles.MetricsLog));
        return data;
    }

    public static ImageRun New(string dir, IImageTrainingTask task, int steps, int checkpointInterval, int logInterval, string dataSpec, string command, object options) =>
        new(dir, task, steps, checkpointInterval, logInterval, dataSpec, command, JsonSerializer.SerializeToNode(options)!);

    /// <summary>The saved state of a run (checked against its pinned files): options, data spec, step.</summary>
    public static JsonObject ReadState(string dir, IReadOnlyList<(string Key, string Path)> checkpoint) => RunFiles.ReadState(dir, [.. checkpoint]);

    /// <summary>Continues the run whose state was read with <see cref="ReadState"/>; the task has loaded its checkpoint.</summary>
    public static ImageRun Continue(string dir, IImageTrainingTask task, JsonObject state, int steps, int checkpointInterval, int logInterval, object options)
    {
        var run = new ImageRun(dir, task, steps, checkpointInterval, logInterval, (string)state["data"]!, (string)state["command"]!, JsonSerializer.SerializeToNode(options)!)
        {
            _step = (long)state["step"]!,
            _trainSeconds = (double)state["train_seconds"]!,
        };
        foreach (var node in RunFiles.TrimMetrics(dir, run._step))
            run.Record((long)node["step"]!, node.AsObject().Where(p => p.Key is not ("step" or "lr" or "grad_norm" or "ms_per_step"))
                .Select(p => (p.Key, (double)p.Value!)).ToArray());
        return run;
    }

    public TrainResult Run(CancellationToken cancel = default, ITrainingObserver? observer = null)
    {
        var wall = Stopwatch.StartNew();
        long start = _step;
        double msSum = 0;
        while (_step < Steps && !cancel.IsCancellationRequested)
        {
            var sw = Stopwatch.StartNew();
            StepLosses s;
            using (NewDisposeScope()) s = Task.Step(_step);
            if (!double.IsFinite(s.Loss) || s.Extra.Any(e => !double.IsFinite(e.Value)))
                throw RunFiles.Diverged(_dir, $"loss became {s.Loss} at step {_step + 1}", "Try a lower --lr.");
            if (!double.IsFinite(s.GradNorm)) throw RunFiles.Diverged(_dir, $"gradient norm became {s.GradNorm} at step {_step + 1}", "Try a lower --lr.");
            _step++;
            double ms = sw.Elapsed.TotalMilliseconds;
            _trainSeconds += ms / 1000;
            msSum += ms;
            observer?.OnStep(new StepMetrics(_step, Steps, s.Loss, s.Lr, s.GradNorm, ms, Task.BatchSize / (ms / 1000)));
            if (_step % _logInterval == 0 || _step == Steps)
            {
                var row = new[] { ("loss", s.Loss) }.Concat(s.Extra).ToArray();
                Record(_step, row);
                var line = new JsonObject { ["step"] = _step };
                foreach (var (k, v) in row) line[k] = Math.Round(v, 5);
                line["lr"] = s.Lr;
                line["grad_norm"] = Math.Round(s.GradNorm, 4);
                line["ms_per_step"] = Math.Round(ms, 1);
                RunFiles.AppendMetrics(_dir, line);
            }
            if (_step % _checkpointInterval == 0 || _step == Steps || cancel.IsCancellationRequested)
            {
                SaveCheckpoint();
                observer?.OnCheckpoint(_step, _dir);
            }
        }
        long done = _step - start;
        double mean = done > 0 ? msSum / done : 0;
        return new TrainResult(_step, _curve.Count > 0 ? _curve[^1].Loss : null, null, mean, mean > 0 ? Task.BatchSize / (mean / 1000) : 0,
            wall.Elapsed, cancel.IsCancellationRequested && _step < Steps);
    }

    void Record(long step, (string Name, double Value)[] row)
    {
        foreach (var (name, value) in row)
        {
            if (name == "loss") { _curve.Add((step, value)); continue; }
            if (!_extra.TryGetValue(name, out var list)) _extra[name] = list = [];
            list.Add((step, value));
        }
    }

    void SaveCheckpoint()
    {
        var stateDir = Path.Combine(_dir, RunFiles.StateDir);
        System.IO.Directory.CreateDirectory(stateDir);
        double? last = _curve.Count > 0 ? _curve[^1].Loss : null;
        Task.Save(_dir, stateDir, Task.ModelCard(new ImageRunInfo(Path.GetFileName(Path.GetFullPath(_dir)), _command, _dataSpec, _step, _trainSeconds, last)));
        using (NewDisposeScope())
        {
            var (images, columns) = Task.Samples();
            ImageGrid.Save(Path.Combine(_dir, "samples.png"), images, columns, scale: 2);
        }
        var summary = new JsonObject
        {
            ["step"] = _step, ["train_loss"] = last, ["parameters"] = Task.ParameterCount,
            ["train_seconds"] = Math.Round(_trainSeconds, 1), ["ms_per_step"] = _step > 0 ? Math.Round(_trainSeconds * 1000 / _step, 1) : null,
        };
        foreach (var (k, v) in _extra) summary[k] = v.Count > 0 ? v[^1].Item2 : null;
        AtomicFile.WriteAllText(Path.Combine(_dir, RunFiles.MetricsSummary), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        RunFiles.WriteState(_dir, new JsonObject
        {
            ["step"] = _step,
            ["train_seconds"] = _trainSeconds,
            ["rng"] = "counter-based: batches, noise and dropout are functions of (seed, step)",
            ["options"] = _options.DeepClone(),
            ["data"] = _dataSpec,
            ["command"] = _command,
        }, [.. Task.Checkpoint(_dir, stateDir)]);
        var series = new List<(string, IReadOnlyList<(long, double)>)> { ("loss", _curve.Select(p => (p.Step, p.Loss)).ToList()) };
        series.AddRange(_extra.Where(e => !e.Key.EndsWith("grad_norm")).Select(e => (e.Key, (IReadOnlyList<(long, double)>)e.Value)));   // losses only
        if (_curve.Count > 0) LossCurve.SaveSeries(Path.Combine(_dir, RunFiles.LossPlot), series, $"{Path.GetFileName(Path.GetFullPath(_dir))} — step {_step}", "loss");
    }

    public void Dispose() => Task.Dispose();
}
