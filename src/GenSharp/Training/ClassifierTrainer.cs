using System.Diagnostics;
using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.IO;
using GenSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Training;

public sealed record ClassifierOptions(int Epochs = 4, int BatchSize = 128, double LearningRate = 2e-3, long Seed = 1337);

/// <summary>
/// Trains the <see cref="FashionClassifier"/> used for image-model evaluation: AdamW, cosine schedule,
/// shuffled epochs (a function of seed and epoch), random horizontal flips. A few minutes on CPU, so not
/// resumable; the model directory gets config.json, model.safetensors, metrics.json and a model card.
/// </summary>
public static class ClassifierTrainer
{
    public static double Train(string dir, FashionClassifier model, ImageDataset train, ImageDataset test, ClassifierOptions o, string command,
        Device device, Action<StepMetrics>? progress = null, CancellationToken cancel = default)
    {
        model.to(device);
        using var optimizer = new AdamW(model.named_parameters(), 0.9, 0.999, 1e-8, weightDecay: 0.05);
        int perEpoch = train.Count / o.BatchSize, total = perEpoch * o.Epochs;
        var schedule = new CosineSchedule(o.LearningRate, o.LearningRate / 20, total / 20, total);
        var wall = Stopwatch.StartNew();
        long step = 0;
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            var order = Enumerable.Range(0, train.Count).Select(i => (long)i)
                .OrderBy(i => SplitMix64.Hash((ulong)o.Seed, (ulong)epoch, (ulong)i)).ToArray();
            model.train();
            for (int b = 0; b < perEpoch; b++, step++)
            {
                cancel.ThrowIfCancellationRequested();
                var sw = Stopwatch.StartNew();
                double loss;
                using (NewDisposeScope())
                {
                    random.manual_seed((long)(SplitMix64.Hash((ulong)o.Seed, (ulong)step, 7) >> 1));
                    var (x, y) = train.Batch(order[(b * o.BatchSize)..((b + 1) * o.BatchSize)], device);
                    var flip = rand(x.shape[0], device: device) < 0.5;
                    x = where(flip.view(-1, 1, 1, 1), x.flip(3), x);
                    var l = F.cross_entropy(model.forward(x), y);
                    l.backward();
                    loss = l.item<float>();
                    if (!double.IsFinite(loss)) throw new TrainingDivergedException($"classifier loss became {loss} at step {step + 1}");
                    optimizer.StepWith(schedule.At(step), 1.0);
                    optimizer.ZeroGrad();
                }
                progress?.Invoke(new StepMetrics(step + 1, total, loss, schedule.At(step), 0, sw.Elapsed.TotalMilliseconds, o.BatchSize / sw.Elapsed.TotalSeconds));
            }
        }
        double accuracy = Accuracy(model, test, device);
        Save(dir, model, o, command, accuracy, wall.Elapsed, train.Count);
        return accuracy;
    }

    /// <summary>Fraction of <paramref name="data"/> classified correctly.</summary>
    public static double Accuracy(FashionClassifier model, ImageDataset data, Device device)
    {
        model.eval();
        using var _ = no_grad();
        long correct = 0;
        for (int i = 0; i < data.Count; i += 500)
        {
            using var scope = NewDisposeScope();
            var idx = Enumerable.Range(i, Math.Min(500, data.Count - i)).Select(k => (long)k).ToArray();
            var (x, y) = data.Batch(idx, device);
            correct += model.forward(x).argmax(1).eq(y).sum().item<long>();
        }
        return correct / (double)data.Count;
    }

    static void Save(string dir, FashionClassifier model, ClassifierOptions o, string command, double accuracy, TimeSpan wall, int trainCount)
    {
        Directory.CreateDirectory(dir);
        ModelDirectory.SaveModule(dir, model, model.Config.ToJson(), modelCard: null);
        AtomicFile.WriteAllText(Path.Combine(dir, RunFiles.MetricsSummary), new JsonObject
        {
            ["test_accuracy"] = Math.Round(accuracy, 4), ["epochs"] = o.Epochs, ["train_seconds"] = Math.Round(wall.TotalSeconds, 1),
            ["parameters"] = model.parameters().Sum(p => p.numel()),
        }.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        AtomicFile.WriteAllText(Path.Combine(dir, "README.md"), $"""
            ---
            library_name: gensharp
            pipeline_tag: image-classification
            ---
            # {Path.GetFileName(Path.GetFullPath(dir))}

            A small CNN classifier of Fashion-MNIST, trained with GenSharp. Its {model.Config.FeatureDim}-d penultimate layer is the
            feature space of GenSharp's FID-FMNIST (not comparable to Inception FID).

            ```
            {command}
            ```
            - {trainCount:N0} training images, {o.Epochs} epochs, batch {o.BatchSize}, AdamW lr {o.LearningRate} (cosine), random horizontal flips, seed {o.Seed}
            - **test accuracy {accuracy:P2}** on the 10,000 test images; train time {wall:mm\:ss}
            """.Replace("\n            ", "\n") + "\n");
    }

    public static FashionClassifier Load(string dir, Device? device = null)
    {
        var configPath = Path.Combine(dir, ModelDirectory.ConfigFile);
        if (!File.Exists(configPath)) throw new ModelLoadException($"{configPath}: file not found (train one with: gensharp train classifier --out {dir})");
        return ModelDirectory.LoadModule<ClassifierConfig, FashionClassifier>(dir, "classifier", c => c.Validate(), c => new FashionClassifier(c), device);
    }
}
