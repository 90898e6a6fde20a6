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
        var d = new ClassifierOptions();
        var f = new TrainFlags(ClassifierTrainer.TaskKind, "set by --epochs");
        var epochs = Cli.Opt("--epochs", "Passes over the 60,000 training images", d.Epochs);
        var batch = Cli.Opt("--batch-size", "Images per step", d.BatchSize);
        var lr = Cli.Opt("--lr", "Peak learning rate", d.LearningRate);
        var cmd = f.Command("classifier", "Train the Fashion-MNIST classifier behind FID-FMNIST and class accuracy", epochs, batch, lr);
        cmd.SetAction(r => Cli.Run(() => f.Train(r, (dir, dev) =>
        {
            if (r.GetValue(f.Steps) is not null) throw new UserError("train classifier: use --epochs, not --steps");
            var o = new ClassifierOptions(r.GetValue(epochs), r.GetValue(batch), r.GetValue(lr), r.GetValue(f.Seed) ?? d.Seed);
            return ClassifierTrainer.Create(dir, new ClassifierConfig(), o, Cli.CommandLine(), dev);
        })));
        return cmd;
    }

    public static Command EvalImage()
    {
        var model = Cli.Opt<string?>("--model", "Image model directory: diffusion, GAN or VAE (omit with --real)");
        var classifier = Cli.Opt("--classifier", "Classifier directory for the features", BundledClassifier);
        var n = Cli.Opt("--n", "Images to generate (balanced over classes)", 500);
        var sampling = new ImageSamplingFlags(withSeed: true);
        var real = Cli.Opt("--real", "Score n real training images instead: the reference row", false);
        var json = Cli.Opt("--json", "Print JSON", false);
        var grid = Cli.Opt<string?>("--grid", "Also save the first 100 images as a PNG grid");
        var compute = new ComputeFlags();
        var cmd = new Command("image", "FID-FMNIST, Inception-Score-style score and class accuracy of an image model (vs the 10,000 test images); a VAE's test-set ELBO")
        {
            model, classifier, n, real, json, grid, compute.Device, compute.Threads,
        };
        foreach (var o in sampling.All) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            var dev = compute.Resolve(r);
            int count = r.GetValue(n);
            if (count < 2) throw new UserError("--n must be at least 2");
            var clf = ClassifierTrainer.Load(Cli.FindShippedOr(r.GetValue(classifier)!), dev);
            using var test = FashionMnist.Load(false);
            using var scope = NewDisposeScope();
            var all = Enumerable.Range(0, test.Count).Select(i => (long)i).ToArray();
            var reference = ImageMetrics.Embed(clf, test.Batch(all, CPU).X).Features;
            Tensor images;
            int[]? labels = null;
            string what;
            (double Nats, double BitsPerDim)? elbo = null;
            double? seconds = null;
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
                var generator = sampling.Load(r, dir, dev);
                labels = Enumerable.Range(0, count).Select(i => generator.NumClasses > 0 ? i % generator.NumClasses : 0).ToArray();
                var cancel = Cli.CancelOnSignals();
                images = ImageGeneration.Generate(generator, labels, sampling.Seed(r), cancel);
                what = $"{count} samples, {generator.Description}";
                if (generator.NumClasses == 0) labels = null;
                seconds = sw.Elapsed.TotalSeconds;   // generation only
                if (generator is VaePipeline vae) elbo = TestElbo(vae, test);
            }
            seconds ??= sw.Elapsed.TotalSeconds;
            var scores = ImageMetrics.Score(clf, images, reference, labels);
            if (r.GetValue(grid) is { } g) ImageGrid.Save(g, images.narrow(0, 0, Math.Min(100, count)), columns: 10);
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    images = what, fid_fmnist = scores.Fid, inception_score = scores.InceptionScore, class_accuracy = scores.ClassAccuracy, seconds, seconds_per_64 = seconds / count * 64,
                    test_negative_elbo_nats = elbo?.Nats, test_bits_per_dim = elbo?.BitsPerDim,
                }));
                return 0;
            }
            var table = new Table().AddColumns("metric", "value");
            table.AddRow("images", what);
            table.AddRow("FID-FMNIST (vs 10,000 test images)", $"{scores.Fid:F3}");
            table.AddRow("Inception-Score-style (classifier)", $"{scores.InceptionScore:F3}");
            if (scores.ClassAccuracy is { } a) table.AddRow("class accuracy", $"{a:P1}");
            table.AddRow("wall time", $"{seconds:F2} s ({seconds / count * 64:F2} s per 64 images)");
            if (elbo is { } e) table.AddRow("test −ELBO (10,000 images)", $"{e.Nats:F2} nats/image = {e.BitsPerDim:F4} bits/dim");
            AnsiConsole.Write(table);
            return 0;
        }));
        return cmd;
    }

    // −ELBO over the test set, one z sample per image (an unbiased estimate of the bound), in nats and bits per dimension.
    static (double Nats, double BitsPerDim) TestElbo(VaePipeline vae, ImageDataset test)
    {
        double nats = vae.NegativeElbo(test, samples: 1).Average();
        return (nats, nats / (test.Channels * test.Height * test.Width * Math.Log(2)));
    }
}
