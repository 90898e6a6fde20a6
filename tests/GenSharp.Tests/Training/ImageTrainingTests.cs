using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Training;
using static TorchSharp.torch;

namespace GenSharp.Tests.Training;

[Collection(GlobalRngCollection.Name)]
public sealed class ImageTrainingTests : TempDirectoryTest
{
    static readonly UNetConfig Tiny = new() { BaseChannels = 8, ChannelMults = [1, 2], ImageSize = 28, Groups = 4, Dropout = 0 };

    static double[] Losses(string dir) => File.ReadLines(Path.Combine(dir, TrainingLoop.MetricsLog))
        .Select(l => JsonNode.Parse(l)!["loss"]).Where(l => l is not null).Select(l => (double)l!).ToArray();

    [Fact]
    public void DiffusionLossFallsAndAResumedRunEqualsAnUninterruptedOne()
    {
        var opt = new DiffusionTrainOptions { Steps = 60, BatchSize = 16, LearningRate = 2e-3, MinLr = 2e-3, WarmupSteps = 5, CheckpointInterval = 30, LogInterval = 1 };
        var full = Path.Combine(_dir, "full");
        using (var t = DiffusionTrainer.Create(full, Tiny, ImageData.FashionMnistName, opt, "test", CPU))
        {
            t.Reports.Add(new GenSharp.Plotting.LossPlot());
            t.Run();
        }
        var losses = Losses(full);
        Assert.True(losses.TakeLast(10).Average() < 0.7 * losses.Take(10).Average(), $"loss {losses.Take(10).Average():F3} → {losses.TakeLast(10).Average():F3}");
        foreach (var f in new[] { "config.json", "model.safetensors", "scheduler_config.json", "samples.png", "loss.png", "README.md" })
            Assert.True(File.Exists(Path.Combine(full, f)), f);

        var split = Path.Combine(_dir, "split");
        using (var t = DiffusionTrainer.Create(split, Tiny, ImageData.FashionMnistName, opt with { Steps = 30 }, "test", CPU)) t.Run();
        using (var t = TrainingLoop.Resume(split, CPU, steps: 60)) t.Run();
        Assert.Equal(File.ReadAllBytes(Path.Combine(full, "model.safetensors")), File.ReadAllBytes(Path.Combine(split, "model.safetensors")));
        Assert.Equal(losses, Losses(split));
    }

    [Fact]
    public void ACorruptCheckpointIsDetectedOnResume()
    {
        var dir = Path.Combine(_dir, "run");
        using (var t = DiffusionTrainer.Create(dir, Tiny, ImageData.FashionMnistName, new DiffusionTrainOptions { Steps = 2, BatchSize = 4, CheckpointInterval = 2 }, "test", CPU)) t.Run();
        File.AppendAllText(Path.Combine(dir, "model.safetensors"), "x");
        var e = Assert.Throws<InvalidDataException>(() => TrainingLoop.Resume(dir, CPU));
        Assert.Contains("does not match the checkpoint", e.Message);
        Assert.Throws<InvalidOperationException>(() => DiffusionTrainer.Create(dir, Tiny, ImageData.FashionMnistName, new DiffusionTrainOptions(), "test", CPU));
    }

    [Fact]
    public void VaeLossFallsResumesExactlyAndLeavesTheHeldOutClassOut()
    {
        var config = new VaeConfig { Channels = 8, LatentDim = 4 };
        var opt = new VaeTrainOptions { Steps = 40, BatchSize = 32, LearningRate = 3e-3, MinLr = 3e-3, WarmupSteps = 0, CheckpointInterval = 20, LogInterval = 1 };
        var full = Path.Combine(_dir, "vae");
        using (var run = VaeTrainer.Create(full, config, ImageData.FashionMnistName, opt, "test", CPU, heldOutClass: "trouser")) run.Run();
        var losses = Losses(full);
        Assert.True(losses.TakeLast(5).Average() < 0.8 * losses.Take(5).Average(), $"−ELBO {losses.Take(5).Average():F1} → {losses.TakeLast(5).Average():F1}");
        Assert.Equal("Trouser", GenSharp.Pipelines.VaePipeline.Load(full).Model.Config.HeldOutClass);
        Assert.Contains("reconstruction", File.ReadLines(Path.Combine(full, TrainingLoop.MetricsLog)).First());
        Assert.Contains("54,000 images", File.ReadAllText(Path.Combine(full, "README.md")));   // 60,000 minus the 6,000 trousers

        var split = Path.Combine(_dir, "vae-split");
        using (var run = VaeTrainer.Create(split, config, ImageData.FashionMnistName, opt with { Steps = 20 }, "test", CPU, heldOutClass: "trouser")) run.Run();
        using (var run = TrainingLoop.Resume(split, CPU, steps: 40)) run.Run();
        Assert.Equal(File.ReadAllBytes(Path.Combine(full, "model.safetensors")), File.ReadAllBytes(Path.Combine(split, "model.safetensors")));
        Assert.Equal(losses, Losses(split));
        Assert.Throws<ArgumentException>(() => VaeTrainer.Create(Path.Combine(_dir, "bad"), config, ImageData.FashionMnistName, opt, "test", CPU, heldOutClass: "hat"));
    }

    [Fact]
    public void GanDiscriminatorLearnsAndAResumedRunEqualsAnUninterruptedOne()
    {
        var config = new GanConfig { Channels = 8, LatentDim = 16 };
        var opt = new GanTrainOptions { Steps = 30, BatchSize = 16, LearningRate = 1e-3, CheckpointInterval = 15, LogInterval = 1 };
        var full = Path.Combine(_dir, "gan");
        using (var run = GanTrainer.Create(full, config, ImageData.FashionMnistName, opt, "test", CPU))
        {
            run.Reports.Add(new GenSharp.Plotting.LossPlot());
            run.Run();
        }
        var lines = File.ReadLines(Path.Combine(full, TrainingLoop.MetricsLog)).Select(l => JsonNode.Parse(l)!).ToArray();
        // Hinge loss starts at 2 (D outputs ≈ 0) and falls as D separates real from generated images.
        Assert.InRange((double)lines[0]["loss"]!, 1.5, 2.5);
        Assert.True(lines.TakeLast(5).Average(l => (double)l["loss"]!) < 1.5);
        Assert.True(lines.TakeLast(5).Average(l => (double)l["d_real"]! - (double)l["d_fake"]!) > 0.3);
        foreach (var f in new[] { "config.json", "model.safetensors", "samples.png", "loss.png", "README.md", "training_state/step-000000030/discriminator.safetensors" })
            Assert.True(File.Exists(Path.Combine(full, f)), f);

        var split = Path.Combine(_dir, "gan-split");
        using (var run = GanTrainer.Create(split, config, ImageData.FashionMnistName, opt with { Steps = 15 }, "test", CPU)) run.Run();
        using (var run = TrainingLoop.Resume(split, CPU, steps: 30)) run.Run();
        Assert.Equal(File.ReadAllBytes(Path.Combine(full, "model.safetensors")), File.ReadAllBytes(Path.Combine(split, "model.safetensors")));
        Assert.Equal(Losses(full), Losses(split));
    }

    [Fact]
    public void ClassifierLearnsFromAFewHundredSteps()
    {
        var dir = Path.Combine(_dir, "clf");
        var options = new ClassifierOptions(Epochs: 1, BatchSize: 64, TrainImages: 6000, TestImages: 1000);
        double acc;
        using (var loop = ClassifierTrainer.Create(dir, new ClassifierConfig { Channels = 8, FeatureDim = 32 }, options, "test", CPU))
            acc = loop.Run().Eval["test_accuracy"];
        Assert.True(acc > 0.6, $"accuracy {acc:P1}");
        using var test = FashionMnist.Load(false).Take(1000);
        var loaded = ClassifierTrainer.Load(dir);
        Assert.Equal(acc, ClassifierTrainer.Accuracy(loaded, test, CPU), 6);
        Assert.Contains("test accuracy", File.ReadAllText(Path.Combine(dir, "README.md")));
    }
}
