using System.Diagnostics;
using System.Text.Json;

namespace GenSharp.Tests.Cli;

/// <summary>Runs the real gensharp executable as a user would.</summary>
public sealed class CliTests : TempDirectoryTest
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(null, args);

    static void AssertNoStackTrace(string text) => Assert.DoesNotContain("   at ", text);

    [Fact]
    public void DemoStreamsFromTheBundledModel()
    {
        var grid = Path.Combine(_dir, "classes.png");
        var r = Run("demo", "--max-tokens", "80", "--image-out", grid);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("models/shakespeare-char", r.Out);
        Assert.Contains("val loss", r.Out);
        var passage = r.Out[(r.Out.IndexOf("ROMEO:\n", StringComparison.Ordinal) + 7)..];
        Assert.True(passage.Length >= 80, r.Out);
        Assert.True(File.Exists(grid), r.Out + r.Err);              // one Fashion-MNIST image per class
        Assert.Contains("models/fmnist-diffusion", r.Out);
        Assert.Contains(grid, r.Out.Replace("\n", ""));
    }

    [Fact]
    public async Task SigtermCheckpointsAndResumeFinishesTheRun()
    {
        var data = Path.Combine(_dir, "d.txt");
        File.WriteAllText(data, Training.LmTrainerTests.Text);
        var model = Path.Combine(_dir, "killed");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        // A tiny gen-0 budget collects garbage constantly: a SIGTERM registration that is not kept alive is lost at once.
        psi.Environment["DOTNET_GCgen0size"] = "0x10000";
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "GenSharp.Cli.dll"), "train", "lm", "--data", data, "--out", model,
                                   "--preset", "tiny", "--steps", "100000", "--eval-interval", "100000", "--eval-iters", "1", "--threads", "1" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string? LatestState() => Directory.Exists(Path.Combine(model, "training_state"))
            ? Directory.GetDirectories(Path.Combine(model, "training_state"), "step-*").Where(d => !d.EndsWith(".partial"))
                .Select(d => Path.Combine(d, "state.json")).Where(File.Exists).Order().LastOrDefault()
            : null;
        // The run has not evaluated or checkpointed yet: the stop itself must write the checkpoint.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        var metrics = Path.Combine(model, "metrics.jsonl");
        while (!(File.Exists(metrics) && new FileInfo(metrics).Length > 0) && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.True(File.Exists(metrics), "training did not start");
        Assert.Null(LatestState());
        Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)), "training did not stop on SIGTERM");
        Assert.Equal(130, p.ExitCode);
        var output = await stdout;
        Assert.Contains("continue with --resume", output);
        long stopped = JsonDocument.Parse(File.ReadAllText(LatestState()!)).RootElement.GetProperty("step").GetInt64();
        Assert.Contains($"stopped at step {stopped}:", output);   // the checkpoint is of the step the run stopped at
        Assert.DoesNotContain("val loss ,", output);
        Assert.DoesNotContain("val loss", output.Split("stopped at step")[1]);   // no evaluation yet: none reported
        Assert.True(stopped > 0);

        var resumed = Run("train", "lm", "--out", model, "--resume", "--steps", (stopped + 10).ToString());
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains($"resuming {model} at step {stopped}/", resumed.Out);
        Assert.Contains($"finished at step {stopped + 10}", resumed.Out);
    }

    [Fact]
    public void SmallMistakesAreNamedPlainly()
    {
        var data = Path.Combine(_dir, "d.txt");
        File.WriteAllText(data, Training.LmTrainerTests.Text);
        var bundled = CliRunner.Bundled();

        var r = Run("eval", "lm", "--model", bundled, "--data", data, "--batch-size", "0");
        Assert.Equal(1, r.Code);
        Assert.Contains("--batch-size must be in 1…4096 (got 0)", r.Err);

        r = Run("eval", "lm", "--model", bundled, "--data", Path.Combine(_dir, "nothing.txt"));
        Assert.Equal(1, r.Code);
        Assert.Contains("nothing.txt: evaluation data not found", r.Err);

        r = Run("generate", "--model", bundled, "--max-tokens", "2000000000");
        Assert.Equal(1, r.Code);
        Assert.Contains("max tokens must be in 1…1048576", r.Err);

        r = Run("frobnicate");
        Assert.NotEqual(0, r.Code);
        var first = (r.Err + r.Out).Trim().Split('\n')[0];
        Assert.Contains("frobnicate", first);
        Assert.DoesNotContain("Required command was not provided", r.Err + r.Out);

        r = Run("train", "lm", "--out", Path.Combine(_dir, "t"), "--data", data, "--threads", "0");
        Assert.Equal(1, r.Code);
        Assert.Contains("--threads must be in 1…1024", r.Err);

        // A directory of the wrong kind says what it holds.
        r = Run("chat", "--model", CliRunner.Bundled("fmnist-diffusion"));
        Assert.Equal(1, r.Code);
        Assert.Contains("holds an image model (gensharp-unet), not a language model", r.Err);
        AssertNoStackTrace(r.Out + r.Err);
    }

    [Fact]
    public void ABuildStampWithoutTheBuildOutputRebuilds()
    {
        // A copied .build/ (stamp, no bin/) in an otherwise empty checkout: set-up must try to build, not trust the stamp.
        var root = Path.Combine(_dir, "checkout");
        Directory.CreateDirectory(Path.Combine(root, "scripts"));
        Directory.CreateDirectory(Path.Combine(root, ".build"));
        foreach (var d in new[] { "src", "tests", "bench" }) Directory.CreateDirectory(Path.Combine(root, d));
        var repo = CliRunner.Repo();
        File.Copy(Path.Combine(repo, "scripts", "setup.sh"), Path.Combine(root, "scripts", "setup.sh"));
        File.WriteAllText(Path.Combine(root, ".build", "setup.stamp"), "");
        var psi = new ProcessStartInfo("bash", [Path.Combine(root, "scripts", "setup.sh")]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Contains("building (Release)", err);
    }

    [Fact]
    public void UnknownFlagFailsWithAMessage()
    {
        var (code, stdout, stderr) = Run("train", "lm", "--out", "x", "--bogus", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("--bogus", stdout + stderr);
        AssertNoStackTrace(stdout + stderr);
    }

    [Fact]
    public void BadValuesAndMissingFilesAreNamed()
    {
        var r = Run("train", "lm", "--data", Path.Combine(_dir, "missing.txt"), "--out", Path.Combine(_dir, "o"));
        Assert.Equal(1, r.Code);
        Assert.Contains("missing.txt: training data not found", r.Err);
        AssertNoStackTrace(r.Out + r.Err);

        r = Run("generate", "--model", Path.Combine(_dir, "nomodel"));
        Assert.Equal(1, r.Code);
        Assert.Contains("model directory not found", r.Err);

        r = Run("train", "lm", "--data", Path.Combine(_dir, "missing.txt"), "--out", "o", "--steps", "abc");
        Assert.NotEqual(0, r.Code);
        Assert.Contains("abc", r.Out + r.Err);

        r = Run("train", "lm", "--data", "x", "--out", "o", "--preset", "huge");
        Assert.Contains("unknown preset 'huge'", r.Err + r.Out);
    }

    [Fact]
    public void CorruptWeightsAreReportedNotThrown()
    {
        var data = Path.Combine(_dir, "d.txt");
        File.WriteAllText(data, Training.LmTrainerTests.Text);
        var model = Path.Combine(_dir, "m");
        Assert.Equal(0, Run("train", "lm", "--data", data, "--out", model, "--preset", "tiny", "--steps", "2", "--eval-iters", "1").Code);
        var weights = Path.Combine(model, "model.safetensors");
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..100]);
        var r = Run("generate", "--model", model);
        Assert.Equal(1, r.Code);
        Assert.Contains("model.safetensors: not a valid safetensors file", r.Err);
        AssertNoStackTrace(r.Out + r.Err);
    }

    [Fact]
    public void TrainEvaluateAndGenerateEndToEnd()
    {
        var data = Path.Combine(_dir, "d.txt");
        File.WriteAllText(data, Training.LmTrainerTests.Text);
        var model = Path.Combine(_dir, "m");
        var train = Run("train", "lm", "--data", data, "--out", model, "--preset", "tiny", "--steps", "40", "--eval-interval", "20");
        Assert.True(train.Code == 0, train.Err);
        Assert.Contains("finished at step 40", train.Out);
        Assert.Contains("train lm --data", File.ReadAllText(Path.Combine(model, "README.md")));

        var eval = Run("eval", "lm", "--model", model, "--data", data, "--json");
        Assert.Equal(0, eval.Code);
        using var json = JsonDocument.Parse(eval.Out);
        double loss = json.RootElement.GetProperty("loss").GetDouble();
        Assert.Equal(Math.Exp(loss), json.RootElement.GetProperty("perplexity").GetDouble(), 6);
        Assert.True(loss < Math.Log(30), $"loss {loss} is no better than uniform");

        var g1 = Run("generate", "--model", model, "--prompt", "To be", "--max-tokens", "30", "--seed", "3");
        var g2 = Run("generate", "--model", model, "--prompt", "To be", "--max-tokens", "30", "--seed", "3");
        Assert.Equal(0, g1.Code);
        Assert.StartsWith("To be", g1.Out);
        Assert.True(g1.Out.TrimEnd('\n').Length >= 30 + 5);
        Assert.Equal(g1.Out, g2.Out);

        var unknown = Run("generate", "--model", model, "--prompt", "你好");
        Assert.Equal(1, unknown.Code);
        Assert.Contains("U+4F60", unknown.Err);
        Assert.Equal("", unknown.Out);   // nothing streamed before the error

        var tok = Run("tokenizer", "train", "--data", data, "--vocab-size", "300", "--out", Path.Combine(_dir, "tok.json"));
        Assert.Equal(0, tok.Code);
        Assert.True(File.Exists(Path.Combine(_dir, "tok.json")));
    }
}
