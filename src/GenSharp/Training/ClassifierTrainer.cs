using GenSharp.Pipelines;
using GenSharp.Optim;
using GenSharp.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using GenSharp.Data;
using GenSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Training;

/// <summary>
/// Trains the <see cref="FashionClassifier"/> used for image-model evaluation: AdamW, cosine schedule, shuffled epochs
/// (a function of seed and epoch), random horizontal flips; test accuracy after every epoch, a checkpoint after every epoch.
/// The <see cref="TrainingLoop"/> runs it; the model directory gets config.json, model.safetensors, metrics.json, a model card.
/// </summary>
public sealed class ClassifierTrainer : ITrainingTask
{
    public const string TaskKind = "classifier";
    const string OptimizerFile = "optimizer.safetensors";

    readonly FashionClassifier _model;
    readonly ImageDataset _train, _test;
    readonly ClassifierOptions _opt;
    readonly Device _device;
    readonly AdamW _optimizer;
    readonly CosineSchedule _lr;
    readonly int _perEpoch;
    (int Epoch, long[] Order) _shuffle = (-1, []);

    ClassifierTrainer(FashionClassifier model, ImageDataset train, ImageDataset test, ClassifierOptions opt, Device device)
    {
        (_model, _train, _test, _opt, _device) = (model, train, test, opt.Validate(), device);
        _perEpoch = train.Count / opt.BatchSize;
        if (_perEpoch == 0) throw new ArgumentException($"--batch-size {opt.BatchSize} is larger than the {train.Count} training images");
        _optimizer = new AdamW(model.named_parameters(), 0.9, 0.999, 1e-8, weightDecay: 0.05);
        int total = _perEpoch * opt.Epochs;
        _lr = new CosineSchedule(opt.LearningRate, opt.LearningRate / 20, total / 20, total);
        _model.train();
    }

    public string Kind => TaskKind;
    public object Options => _opt;
    public TrainingSchedule Schedule => new(_perEpoch * _opt.Epochs, _perEpoch, _perEpoch, 10);
    public string Unit => "images";
    public long ItemsPerStep => _opt.BatchSize;
    public long ParameterCount => _model.parameters().Sum(p => p.numel());

    /// <summary>A new run on Fashion-MNIST (Debian's dataset-fashion-mnist).</summary>
    public static TrainingLoop Create(string dir, ClassifierConfig config, ClassifierOptions opt, string command, Device device)
    {
        opt.Validate();
        TrainingLoop.BeginNew(dir);
        var (train, test) = LoadData(opt);
        manual_seed(opt.Seed);
        var model = new FashionClassifier(config with { ClassNames = [.. FashionMnist.ClassNames] });
        model.to(device);
        return TrainingLoop.New(dir, new ClassifierTrainer(model, train, test, opt, device), new RunInfo(command, ImageData.FashionMnistName));
    }

    internal static ClassifierTrainer Open(Checkpoint checkpoint, Device device, int? steps)
    {
        var opt = checkpoint.State["options"].Deserialize<ClassifierOptions>()!;
        if (steps is not null) throw new ArgumentException("the classifier trains for whole epochs: --steps cannot extend it");
        var model = Load(checkpoint.ModelDirectory, device);
        var (train, test) = LoadData(opt);
        var task = new ClassifierTrainer(model, train, test, opt, device);
        task._optimizer.Load(checkpoint.StateFile(OptimizerFile));
        return task;
    }

    static (ImageDataset Train, ImageDataset Test) LoadData(ClassifierOptions opt)
    {
        var train = FashionMnist.Load(true);
        var test = FashionMnist.Load(false);
        if (opt.TrainImages is { } n) using (var all = train) train = all.Take(n);
        if (opt.TestImages is { } m) using (var all = test) test = all.Take(m);
        return (train, test);
    }

    public StepLosses Step(long step)
    {
        int epoch = (int)(step / _perEpoch), b = (int)(step % _perEpoch);
        if (_shuffle.Epoch != epoch)
            _shuffle = (epoch, [.. Enumerable.Range(0, _train.Count).Select(i => (long)i).OrderBy(i => SplitMix64.Hash((ulong)_opt.Seed, (ulong)epoch, (ulong)i))]);
        double lr = _lr.At(step);
        random.manual_seed((long)(SplitMix64.Hash((ulong)_opt.Seed, (ulong)step, 7) >> 1));
        var (x, y) = _train.Batch(_shuffle.Order[(b * _opt.BatchSize)..((b + 1) * _opt.BatchSize)], _device);
        var flip = rand(x.shape[0], device: _device) < 0.5;
        x = where(flip.view(-1, 1, 1, 1), x.flip(3), x);
        var loss = F.cross_entropy(_model.forward(x), y);
        return _optimizer.Minimize(loss, lr, 1.0);
    }

    public IReadOnlyList<(string Name, double Value)> Evaluate()
    {
        double accuracy = Accuracy(_model, _test, _device);
        _model.train();
        return [("test_accuracy", accuracy)];
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

    public void Save(Checkpoint checkpoint, string modelCard)
    {
        ModelDirectory.SaveModule(checkpoint.ModelDirectory, _model, _model.Config.ToJson(), modelCard);
        _optimizer.Save(checkpoint.StateFile(OptimizerFile));
    }

    public string ModelCard(RunSummary run) => $"""
        ---
        library_name: gensharp
        pipeline_tag: image-classification
        ---
        # {run.Name}

        A small CNN classifier of Fashion-MNIST, trained with GenSharp. Its {_model.Config.FeatureDim}-d penultimate layer is the
        feature space of GenSharp's FID-FMNIST (not comparable to Inception FID).

        ```
        {run.Run.Command}
        ```
        - {_train.Count:N0} training images, {_opt.Epochs} epochs (step {run.Step}/{Schedule.Steps}), batch {_opt.BatchSize}, AdamW lr {_opt.LearningRate} (cosine), random horizontal flips, seed {_opt.Seed}
        - **test accuracy {run.Metric("test_accuracy"):P2}** on {_test.Count:N0} test images
        {run.TimeLine}
        """.Replace("\n        ", "\n") + "\n";

    public static FashionClassifier Load(string dir, Device? device = null)
    {
        var configPath = Path.Combine(dir, ModelDirectory.ConfigFile);
        if (!File.Exists(configPath)) throw new ModelLoadException($"{configPath}: file not found (train one with: gensharp train classifier --out {dir})");
        return ModelDirectory.LoadModule<ClassifierConfig, FashionClassifier>(dir, "classifier", c => c.Validate(), c => new FashionClassifier(c), device);
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _train.Dispose();
        _test.Dispose();
        _model.Dispose();
    }
}
