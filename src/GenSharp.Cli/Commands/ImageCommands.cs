using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Imaging;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace GenSharp.Cli.Commands;

/// <summary>Image commands: <c>train classifier</c>, <c>eval image</c>, and image generation behind <c>generate</c>.</summary>
static class ImageCommands
{
    public const string BundledDiffusion = "models/fmnist-diffusion", BundledClassifier = "models/fmnist-classifier";

    public static Command TrainClassifier()
    {
        var output = new Option<string>("--out") { Description = "Model directory", Required = true };
        var d = new ClassifierOptions();
        var epochs = Cli.Opt("--epochs", "Passes over the 60,000 training images", d.Epochs);
        var batch = Cli.Opt("--batch-size", "Images per step", d.BatchSize);
        var lr = Cli.Opt("--lr", "Peak learning rate", d.LearningRate);
        var seed = Cli.Opt("--seed", "Seed", d.Seed);
        var device = Cli.DeviceOption();
        var cmd = new Command("classifier", "Train the Fashion-MNIST classifier behind FID-FMNIST and class accuracy") { output, epochs, batch, lr, seed, device };
        cmd.SetAction(r => Cli.Run(() =>
        {
            using var train = FashionMnist.Load(true);
            using var test = FashionMnist.Load(false);
            using var model = new FashionClassifier(new ClassifierConfig { ClassNames = [.. FashionMnist.ClassNames] });
            var o = new ClassifierOptions(r.GetValue(epochs), r.GetValue(batch), r.GetValue(lr), r.GetValue(seed));
            using var cts = Cli.CancelOnSignals();
            var command = Cli.CommandLine();
            double acc = 0;
            var dev = Cli.ResolveDevice(r.GetValue(device)!);
            var result = TrainingProgress.Run(0, o.Epochs * (train.Count / o.BatchSize), "img/s", obs =>
            {
                acc = ClassifierTrainer.Train(r.GetValue(output)!, model, train, test, o, command, dev, obs.OnStep, cts.Token);
                return new TrainResult(0, null, null, 0, 0, TimeSpan.Zero, false);
            });
            AnsiConsole.MarkupLineInterpolated($"test accuracy [bold]{acc:P2}[/]; model in [bold]{r.GetValue(output)}[/]");
            return 0;
        }));
        return cmd;
    }

    public static Command EvalImage()
    {
        var model = Cli.Opt<string?>("--model", "Diffusion model directory (omit with --real)");
        var classifier = Cli.Opt("--classifier", "Classifier directory for the features", BundledClassifier);
        var n = Cli.Opt("--n", "Images to generate (balanced over classes)", 500);
        var sampling = new ImageSamplingFlags(withSeed: true);
        var real = Cli.Opt("--real", "Score n real training images instead: the reference row", false);
        var json = Cli.Opt("--json", "Print JSON", false);
        var grid = Cli.Opt<string?>("--grid", "Also save the first 100 images as a PNG grid");
        var device = Cli.DeviceOption();
        var cmd = new Command("image", "FID-FMNIST, Inception-Score-style score and class accuracy of a diffusion model (vs the 10,000 test images)")
        {
            model, classifier, n, real, json, grid, device,
        };
        foreach (var o in sampling.All) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            var dev = Cli.ResolveDevice(r.GetValue(device)!);
            int count = r.GetValue(n);
            if (count < 2) throw new UserError("--n must be at least 2");
            var clf = ClassifierTrainer.Load(Cli.FindShippedOr(r.GetValue(classifier)!), dev);
            using var test = FashionMnist.Load(false);
            using var scope = NewDisposeScope();
            var reference = ImageMetrics.Embed(clf, test.Batch(Enumerable.Range(0, test.Count).Select(i => (long)i).ToArray(), CPU).X).Features;
            Tensor images;
            int[]? labels = null;
            string what;
            var sw = Stopwatch.StartNew();
            if (r.GetValue(real))
            {
                using var train = FashionMnist.Load(true);
                var (x, y) = train.Batch(Enumerable.Range(0, count).Select(i => (long)i * (train.Count / count)).ToArray(), CPU);
                (images, labels, what) = (x, y.data<long>().Select(v => (int)v).ToArray(), $"{count} real training images");
            }
            else
            {
                var dir = r.GetValue(model) ?? throw new UserError("--model is required (or --real for the reference row)");
                var pipeline = DiffusionPipeline.Load(dir, dev);
                var s = sampling.Read(r);
                labels = Enumerable.Range(0, count).Select(i => pipeline.Model.Config.NumClasses > 0 ? i % pipeline.Model.Config.NumClasses : 0).ToArray();
                using var cts = Cli.CancelOnSignals();
                images = ImageGeneration.Generate(pipeline, labels, s, cts.Token);
                what = $"{count} samples, {(s.Sampler == "ddpm" ? $"DDPM-{pipeline.Schedule.Steps}" : $"DDIM-{s.Steps} (η {s.Eta})")}, guidance {s.Guidance}";
                if (pipeline.Model.Config.NumClasses == 0) labels = null;
            }
            double seconds = sw.Elapsed.TotalSeconds;
            var scores = ImageMetrics.Score(clf, images, reference, labels);
            if (r.GetValue(grid) is { } g) ImageGrid.Save(g, images.narrow(0, 0, Math.Min(100, count)), columns: 10);
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { images = what, fid_fmnist = scores.Fid, inception_score = scores.InceptionScore, class_accuracy = scores.ClassAccuracy, seconds, seconds_per_64 = seconds / count * 64 }));
                return 0;
            }
            var table = new Table().AddColumns("metric", "value");
            table.AddRow("images", what);
            table.AddRow("FID-FMNIST (vs 10,000 test images)", $"{scores.Fid:F3}");
            table.AddRow("Inception-Score-style (classifier)", $"{scores.InceptionScore:F3}");
            if (scores.ClassAccuracy is { } a) table.AddRow("class accuracy", $"{a:P1}");
            table.AddRow("wall time", $"{seconds:F1} s ({seconds / count * 64:F1} s per 64 images)");
            AnsiConsole.Write(table);
            return 0;
        }));
        return cmd;
    }
}

/// <summary>Sampling flags for diffusion models: --sampler --steps --eta --guidance --seed.</summary>
sealed class ImageSamplingFlags
{
    readonly Option<string> _sampler = Cli.Opt("--sampler", "ddim or ddpm (every training step)", "ddim");
    readonly Option<int> _steps = Cli.Opt("--steps", "DDIM steps", 25);
    readonly Option<double> _eta = Cli.Opt("--eta", "DDIM noise (0 deterministic, 1 ≈ DDPM)", 0.0);
    readonly Option<double> _guidance = Cli.Opt("--guidance", "Classifier-free guidance scale (0 unconditional, 1 conditional)", 3.0);
    readonly Option<long>? _seed;

    /// <param name="withSeed">false where the command already has a --seed of its own (generate).</param>
    public ImageSamplingFlags(bool withSeed = true) => _seed = withSeed ? Cli.Opt<long>("--seed", "Seed of the starting noise", 0) : null;

    public IEnumerable<Option> All => _seed is null ? [_sampler, _steps, _eta, _guidance] : [_sampler, _steps, _eta, _guidance, _seed];

    public DiffusionSampling Read(ParseResult r, long? seed = null) => new()
    {
        Sampler = r.GetValue(_sampler)!, Steps = r.GetValue(_steps), Eta = r.GetValue(_eta), Guidance = r.GetValue(_guidance),
        Seed = seed ?? (_seed is null ? 0 : r.GetValue(_seed)),
    };
}

/// <summary>Generation in batches with a progress bar; shared by generate, eval image and demo.</summary>
static class ImageGeneration
{
    public static Tensor Generate(DiffusionPipeline pipeline, IReadOnlyList<int> labels, DiffusionSampling s, CancellationToken cancel, int batch = 100)
    {
        var parts = new List<Tensor>();
        for (int i = 0; i < labels.Count; i += batch)
        {
            cancel.ThrowIfCancellationRequested();
            var chunk = labels.Skip(i).Take(batch).ToArray();
            parts.Add(pipeline.Generate(chunk, s with { Seed = s.Seed + i }, cancel).cpu());
            if (labels.Count > batch) Console.Error.WriteLine($"generated {Math.Min(i + batch, labels.Count)}/{labels.Count}");
        }
        return cat(parts);
    }
}

/// <summary>The image half of <c>gensharp generate</c>: class names in, a PNG grid out.</summary>
sealed class ImageGenerateFlags
{
    public readonly Option<string[]> Class = new("--class") { Description = "Image models: class to draw (repeatable or comma-separated; default: every class)" };
    public readonly Option<string> Out = Cli.Opt("--out", "Image models: PNG grid to write", "samples.png");
    public readonly ImageSamplingFlags Sampling = new(withSeed: false);

    public IEnumerable<Option> All => [Class, Out, .. Sampling.All];

    public int Run(ParseResult r, string dir, int n, long? seed, Device device)
    {
        if (n < 1 || n > 1000) throw new UserError($"--n must be in 1…1000 for images (got {n})");
        var pipeline = DiffusionPipeline.Load(dir, device);
        var c = pipeline.Model.Config;
        var names = (r.GetValue(Class) ?? []).SelectMany(v => v.Split(',')).Where(v => v.Trim().Length > 0).ToArray();
        int[] classes = c.NumClasses == 0 ? [0]
            : names.Length == 0 ? [.. Enumerable.Range(0, c.NumClasses)]
            : names.Select(v => ClassIndex(c, v)).ToArray();
        var labels = Enumerable.Range(0, n).SelectMany(_ => classes).ToArray();   // one row per repetition
        var s = Sampling.Read(r, seed ?? 0);
        using var cts = Cli.CancelOnSignals();
        var sw = Stopwatch.StartNew();
        using var images = ImageGeneration.Generate(pipeline, labels, s, cts.Token);
        var path = r.GetValue(Out)!;
        ImageGrid.Save(path, images, columns: classes.Length == 1 ? Math.Min(n, 8) : classes.Length, scale: 3);
        Console.WriteLine($"wrote {path}: {labels.Length} image(s) of {string.Join(", ", classes.Distinct().Select(k => c.ClassNames?[k] ?? "unconditional"))} " +
                          $"({(s.Sampler == "ddpm" ? $"DDPM, {pipeline.Schedule.Steps} steps" : $"DDIM, {s.Steps} steps")}, guidance {s.Guidance}, {sw.Elapsed.TotalSeconds:F1} s)");
        return 0;
    }

    // Fashion-MNIST aliases when the model's classes are Fashion-MNIST's; otherwise the folder names.
    static int ClassIndex(UNetConfig c, string name)
    {
        var names = c.ClassNames ?? [];
        int exact = Array.FindIndex(names, x => x.Equals(name.Trim(), StringComparison.OrdinalIgnoreCase));
        if (exact >= 0) return exact;
        if (names.SequenceEqual(FashionMnist.ClassNames)) return FashionMnist.ClassIndex(name);
        if (int.TryParse(name, out int i) && i >= 0 && i < c.NumClasses) return i;
        throw new UserError($"unknown class '{name}'; this model knows: {string.Join(", ", names)}");
    }
}
