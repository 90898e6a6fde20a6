using GenSharp.Data;
using GenSharp.Optim;
using GenSharp.Models;
using GenSharp.Tokenizers;
using GenSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Tests.Training;

[Collection(GlobalRngCollection.Name)]
public sealed class LmTrainerTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("gensharp-train-").FullName;
    public void Dispose() => Directory.Delete(_root, true);

    internal static readonly string Text = string.Concat(Enumerable.Repeat(
        "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" +
        "The slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles\n", 40));

    static readonly LlamaConfig Tiny = new() { HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 2, NumKvHeads = 1, MaxPositions = 32, HiddenDropout = 0.1 };
    static readonly TrainOptions Fast = new() { Steps = 6, BatchSize = 4, EvalInterval = 3, EvalIters = 2, WarmupSteps = 2, LearningRate = 3e-3, MinLr = 3e-4, LogInterval = 1, Seed = 7 };

    string TextFile()
    {
        var path = Path.Combine(_root, "data.txt");
        if (!File.Exists(path)) File.WriteAllText(path, Text);
        return path;
    }

    TrainingLoop NewTrainer(string name, TrainOptions opt, LlamaConfig? cfg = null)
    {
        var tok = CharTokenizer.Train(Text);
        var dir = Path.Combine(_root, name);
        var data = TokenDataset.Build(Text, tok, Path.Combine(dir, "dataset"));
        return LmTrainer.Create(dir, (cfg ?? Tiny) with { VocabSize = tok.VocabSize }, tok, data, opt,
            new RunInfo("test", TextFile(), "char", "test"), CPU);
    }

    [Fact]
    public void LossFallsOnATinyModel()
    {
        using var t = NewTrainer("falls", Fast with { Steps = 60, EvalInterval = 60, EvalIters = 4 });
        t.Reports.Add(new GenSharp.Plotting.LossPlot());
        double before = ((LmTrainer)t.Task).EstimateLoss(false);
        var result = t.Run();
        Assert.True(result.TrainLoss < before - 0.8, $"loss {before:F3} → {result.TrainLoss:F3}");
        Assert.True(result.ValLoss < before - 0.8);
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "README.md", "metrics.jsonl", "loss.png", "training_state/step-000000060/state.json" })
            Assert.True(File.Exists(Path.Combine(_root, "falls", f)), f);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(_root, "falls", "loss.png"))[..4]);
    }

    [Fact]
    public void ResumeAfterInterruptionIsBitIdenticalToAnUninterruptedRun()
    {
        using (var full = NewTrainer("full", Fast)) full.Run();

        using (var first = NewTrainer("split", Fast))
        {
            using var cts = new CancellationTokenSource();
            var r = first.Run(cts.Token, new CancelAt(2, cts));   // stops after step 2, between evaluations
            Assert.True(r.Cancelled);
            Assert.Equal(2, r.Step);
        }
        using (var resumed = TrainingLoop.Resume(Path.Combine(_root, "split"), CPU))
        {
            Assert.Equal(2, resumed.Step);
            resumed.Run();
        }
        Assert.Equal(File.ReadAllBytes(Path.Combine(_root, "full", "model.safetensors")),
                     File.ReadAllBytes(Path.Combine(_root, "split", "model.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_root, "full", "training_state", "step-000000006", "optimizer.safetensors")),
                     File.ReadAllBytes(Path.Combine(_root, "split", "training_state", "step-000000006", "optimizer.safetensors")));
        // Only the newest checkpoint is kept.
        Assert.Single(Directory.GetDirectories(Path.Combine(_root, "split", "training_state")));
        // Metrics were neither lost nor duplicated.
        Assert.Equal(File.ReadAllLines(Path.Combine(_root, "full", "metrics.jsonl")).Length,
                     File.ReadAllLines(Path.Combine(_root, "split", "metrics.jsonl")).Length);
    }

    [Fact]
    public void NaNLossStopsTheRunAndKeepsTheLastCheckpoint()
    {
        var dir = Path.Combine(_root, "nan");
        using var t = NewTrainer("nan", Fast);
        using (var cts = new CancellationTokenSource()) t.Run(cts.Token, new CancelAt(3, cts));
        var good = File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));
        using (no_grad()) ((LmTrainer)t.Task).Model.parameters().First().fill_(float.NaN);
        var e = Assert.Throws<TrainingDivergedException>(() => t.Run());
        Assert.Contains("loss became NaN at step 4", e.Message);
        Assert.Contains("last checkpoint", e.Message);
        Assert.Equal(good, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        using var resumed = TrainingLoop.Resume(dir, CPU);
        Assert.Equal(3, resumed.Step);
    }

    [Fact]
    public void ResumeRefusesACheckpointWhoseFilesDoNotMatch()
    {
        using (var t = NewTrainer("torn", Fast with { Steps = 3 })) t.Run();
        var weights = Path.Combine(_root, "torn", "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(weights, bytes);
        var e = Assert.Throws<InvalidDataException>(() => TrainingLoop.Resume(Path.Combine(_root, "torn"), CPU));
        Assert.Contains("does not match", e.Message);
    }

    [Fact]
    public void NoNativeTensorLeakOver100Steps()
    {
        using var t = NewTrainer("leak", Fast with { Steps = 110, EvalInterval = 1000, LogInterval = 1000 });
        var probe = new LiveTensors();
        t.Run(default, probe);
        Assert.True(probe.At10 > 0);
        Assert.Equal(probe.At10, probe.At110);
    }

    [Fact]
    public void BatchesDependOnlyOnSeedAndStep()
    {
        var tok = CharTokenizer.Train(Text);
        using var data = TokenDataset.Build(Text, tok, Path.Combine(_root, "ds"));
        var (x1, y1) = data.Batch(false, 4, 16, seed: 1, step: 5, micro: 0, CPU);
        var (x2, _) = data.Batch(false, 4, 16, seed: 1, step: 5, micro: 0, CPU);
        var (x3, _) = data.Batch(false, 4, 16, seed: 1, step: 6, micro: 0, CPU);
        Assert.True(x1.equal(x2).all().item<bool>());
        Assert.False(x1.equal(x3).all().item<bool>());
        Assert.True(x1[.., 1..].equal(y1[.., ..^1]).all().item<bool>());   // targets are inputs shifted by one
        // The cache is reused: a second build reads the same tokens from disk.
        using var again = TokenDataset.Build(Text, tok, Path.Combine(_root, "ds"));
        Assert.Equal(data.TrainTokens, again.TrainTokens);
    }

    [Fact]
    public void ScheduleWarmsUpThenDecaysToTheFloor()
    {
        var s = new CosineSchedule(1e-3, 1e-4, 10, 110);
        Assert.Equal(1e-3 / 11, s.At(0), 12);
        Assert.Equal(1e-3, s.At(10), 12);
        Assert.Equal(1e-4 + 0.5 * (1e-3 - 1e-4), s.At(60), 12);   // halfway: cos = 0
        Assert.Equal(1e-4, s.At(110), 12);
        Assert.Equal(1e-4, s.At(500), 12);
    }

    sealed class CancelAt(long step, CancellationTokenSource cts) : ITrainingObserver
    {
        public void OnStep(StepMetrics m) { if (m.Step == step) cts.Cancel(); }
    }

    sealed class LiveTensors : ITrainingObserver
    {
        public long At10, At110;
        public void OnStep(StepMetrics m)
        {
            if (m.Step == 10) At10 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            if (m.Step == 110) At110 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
    }
}
