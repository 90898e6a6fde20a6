using GenSharp.Data;
using System.Diagnostics;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;
using GenSharp.Training;

namespace GenSharp.Tests.Training;

/// <summary>Kill -9 at every file boundary of a checkpoint, with real processes, and resume each time.</summary>
public sealed class CrashSafetyTests(Xunit.Abstractions.ITestOutputHelper output) : TempDirectoryTest
{
    static (int Code, string Out, string Err) Train(string data, string dir, string? killAt, params string[] extra)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "GenSharp.Cli.dll"), "train", "lm", "--out", dir }.Concat(extra)) psi.ArgumentList.Add(a);
        if (!extra.Contains("--resume"))
            foreach (var a in new[] { "--data", data, "--preset", "tiny", "--steps", "4", "--eval-interval", "2", "--eval-iters", "1", "--threads", "1" }) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        if (killAt is not null) psi.Environment["GENSHARP_KILL_AT_CHECKPOINT"] = killAt;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException("training hung"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void AKillAtAnyFileBoundaryOfACheckpointLeavesARunThatResumesToTheSameModel()
    {
        var data = Path.Combine(_dir, "d.txt");
        File.WriteAllText(data, LmTrainerTests.Text);
        var reference = Path.Combine(_dir, "reference");
        Assert.Equal(0, Train(data, reference, null).Code);
        var expected = File.ReadAllBytes(Path.Combine(reference, "model.safetensors"));

        // The checkpoint of step 4 (the second) is killed at boundary n = 1, 2, … until a run gets through: every boundary is hit.
        int boundaries = 0;
        var failures = new List<string>();
        for (int n = 1; n < 200; n++)
        {
            var dir = Path.Combine(_dir, $"kill-{n}");
            var killed = Train(data, dir, $"4:{n}");
            if (killed.Code == 0) break;
            boundaries = n;
            Assert.True(killed.Code == 137, $"boundary {n}: exit {killed.Code}, expected a kill -9 (137): {killed.Err}");
            var resumed = Train(data, dir, null, "--resume");
            if (resumed.Code != 0) { failures.Add($"boundary {n}: resume failed: {resumed.Err.Trim()}"); continue; }
            if (!File.ReadAllBytes(Path.Combine(dir, "model.safetensors")).SequenceEqual(expected)) failures.Add($"boundary {n}: the resumed model differs");
            var state = Path.Combine(dir, CheckpointStore.StateDir);
            if (Directory.GetDirectories(state).Length != 1) failures.Add($"boundary {n}: {Directory.GetDirectories(state).Length} checkpoint folders left");
            if (Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories).Length > 0) failures.Add($"boundary {n}: temp files left");
            Directory.Delete(dir, recursive: true);
        }
        output.WriteLine($"killed at each of {boundaries} file boundaries; every run resumed to the uninterrupted model");
        Assert.True(boundaries >= 20, $"only {boundaries} boundaries were found");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void AResumeRefusesARunWithoutACompleteCheckpointAndANewRunClearsIt()
    {
        var data = Path.Combine(_dir, "d.txt");
        File.WriteAllText(data, LmTrainerTests.Text);
        var dir = Path.Combine(_dir, "first");
        var killed = Train(data, dir, "2:3");   // inside the very first checkpoint
        Assert.Equal(137, killed.Code);
        var resumed = Train(data, dir, null, "--resume");
        Assert.Equal(1, resumed.Code);
        Assert.Contains("no complete checkpoint", resumed.Err);
        var again = Train(data, dir, null);
        Assert.True(again.Code == 0, again.Err);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetDirectories(Path.Combine(dir, CheckpointStore.StateDir), "*.partial"));
    }

    [Fact]
    public void ADamagedTokenCacheIsRebuiltNotUsed()
    {
        var tok = CharTokenizer.Train(LmTrainerTests.Text);
        var cache = Path.Combine(_dir, "dataset");
        long tokens;
        using (var data = TokenDataset.Build(LmTrainerTests.Text, tok, cache)) tokens = data.TrainTokens;
        var train = Path.Combine(cache, "train.bin");
        var bytes = File.ReadAllBytes(train);
        BitConverter.GetBytes(1_000_000).CopyTo(bytes, 8);    // an id far outside the vocabulary
        File.WriteAllBytes(train, bytes);
        using (var data = TokenDataset.Build(LmTrainerTests.Text, tok, cache))
        {
            Assert.Equal(tokens, data.TrainTokens);
            var (x, _) = data.Batch(false, 64, 16, 1, 0, 0, TorchSharp.torch.CPU);
            Assert.True(x.max().item<long>() < tok.VocabSize);
        }
        Assert.NotEqual(bytes, File.ReadAllBytes(train));   // rewritten from the text
    }
}
