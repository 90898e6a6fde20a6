using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Alignment;
using GenSharp.Data;
using GenSharp.IO;
using GenSharp.Tests.Cli;
using GenSharp.Tests.Training;
using GenSharp.Tokenizers;

namespace GenSharp.Tests.Alignment;

/// <summary>GRPO end to end through the CLI with a checkable reward, its rewards and prompt data.</summary>
[Collection(GlobalRngCollection.Name)]
public sealed class GrpoTests : JsonlTest
{
    static readonly string[] Speakers = ["ROMEO", "JULIET", "HAMLET", "MENENIUS", "CORIOLANUS", "BRUTUS", "GLOUCESTER", "ISABELLA", "LUCIO", "ANGELO"];

    [Fact]
    public void GrpoRaisesACheckableRewardFromItsBaseRate()
    {
        // The bundled model starts a speech with "I " or "O " about one time in six (ROMEO: 5 of 32 samples at temperature 1).
        var prompts = Jsonl("prompts.jsonl", [.. Enumerable.Range(0, 40).Select(i => (object)new { prompt = Speakers[i % Speakers.Length] + ":\n" })]);
        var run = Path.Combine(_dir, "grpo");
        var before = FileHash.Sha256(Path.Combine(CliRunner.Bundled(), "model.safetensors"));
        var (code, output, err) = CliRunner.Run(null, "align", "grpo", "--model", CliRunner.Bundled(), "--prompts", prompts, "--reward", "regex:^(I|O) ",
            "--method", "lora", "--lr", "3e-3", "--steps", "10", "--group-size", "8", "--prompts-per-step", "4", "--max-tokens", "6",
            "--eval-fraction", "0.25", "--eval-interval", "10", "--out", run, "--threads", "2");
        Assert.True(code == 0, output + err);
        Assert.Contains("30 training, 10 held-out prompts; 8 samples × 4 prompts per step", output);
        var metrics = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        var last = metrics.Last(m => m["reward"] is not null);
        Assert.True((double)last["reward"]! >= 0.6, $"sampled reward after 10 steps: {last}");
        Assert.True((double)last["kl"]! > 0, "the policy moved away from the reference");
        Assert.NotNull(last["reward_std"]);
        Assert.NotNull(last["completions/mean_length"]);
        Assert.True((double)metrics.Last(m => m["eval_reward"] is not null)["eval_reward"]! >= 0.5);
        Assert.Equal(before, FileHash.Sha256(Path.Combine(CliRunner.Bundled(), "model.safetensors")));   // LoRA: the base is untouched

        var (resumed, again, againErr) = CliRunner.Run(null, "align", "grpo", "--resume", "--out", run, "--steps", "12", "--threads", "2");
        Assert.True(resumed == 0, again + againErr);
        Assert.Contains("finished at step 12", again);
    }

    [Fact]
    public void ARewardModelDirectoryScoresTheSamples()
    {
        var lm = GenSharp.Pipelines.AutoPipeline.OpenText(CliRunner.Bundled());
        var rmDir = Path.Combine(_dir, "rm");
        var strangerDir = Path.Combine(_dir, "stranger");   // the same weights, but its token ids stand for other characters
        using (var rm = GenSharp.Models.LlamaForSequenceClassification.FromLanguageModel(lm.Model, seed: 2))
        {
            GenSharp.Pipelines.ModelDirectory.SaveReward(rmDir, rm, lm.Tokenizer, ChatTemplate.Load(CliRunner.Bundled()));
            GenSharp.Pipelines.ModelDirectory.SaveReward(strangerDir, rm, new CharTokenizer(((CharTokenizer)lm.Tokenizer).Tokens.Reverse()), ChatTemplate.Load(CliRunner.Bundled()));
        }
        lm.Model.Dispose();
        var prompts = Jsonl("prompts.jsonl", [.. Speakers.Select(p => (object)new { prompt = p + ":\n" })]);
        var run = Path.Combine(_dir, "grpo");
        var (code, output, err) = CliRunner.Run(null, "align", "grpo", "--model", CliRunner.Bundled(), "--prompts", prompts, "--reward", rmDir,
            "--method", "lora", "--steps", "2", "--group-size", "4", "--prompts-per-step", "2", "--max-tokens", "4", "--eval-fraction", "0", "--out", run);
        Assert.True(code == 0, output + err);
        var logged = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(m => m["reward"] is not null).ToList();
        Assert.NotEmpty(logged);
        Assert.All(logged, m => Assert.True(double.IsFinite((double)m["reward"]!) && (double)m["reward_std"]! > 0, $"{m}"));   // real, varied scores

        var stranger = CliRunner.Run(null, "align", "grpo", "--model", CliRunner.Bundled(), "--prompts", prompts, "--reward", strangerDir,
            "--steps", "2", "--out", Path.Combine(_dir, "grpo2"));
        Assert.Equal(1, stranger.Code);
        Assert.Contains("the reward model was trained from another base", stranger.Err);
    }

    [Fact]
    public void AProgramsRewardFunctionTrainsAndResumesOnlyWithTheSameFunction()
    {
        var prompts = Jsonl("prompts.jsonl", [.. Speakers.Select(p => (object)new { prompt = p + ":\n" })]);
        var run = Path.Combine(_dir, "custom");
        int batches = 0;
        GenSharp.Training.GrpoTrainer.RewardFunction vowels = rows =>
        {
            batches++;
            return [.. rows.Select(r => r.Completion.Count("aeiouAEIOU".Contains) / (double)Math.Max(1, r.Completion.Length))];
        };
        var opt = new GenSharp.Training.GrpoOptions
        {
            BaseModel = CliRunner.Bundled(), Prompts = prompts, Reward = "custom:vowels", Method = "lora", Steps = 2, GroupSize = 4,
            PromptsPerStep = 2, MaxNewTokens = 6, EvalFraction = 0, EvalInterval = 2, LogInterval = 1,
        };
        using (var loop = GenSharp.Training.GrpoTrainer.Create(run, opt, "test", TorchSharp.torch.CPU, vowels)) loop.Run();
        Assert.Equal(2, batches);   // one batched call per step
        var logged = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(m => m["reward"] is not null).ToList();
        Assert.All(logged, m => Assert.InRange((double)m["reward"]!, 0, 1));

        // The CLI cannot resume it (the function lives in the program that started it); the library can, given it again.
        var cli = CliRunner.Run(null, "align", "grpo", "--resume", "--out", run, "--steps", "3");
        Assert.Equal(1, cli.Code);
        Assert.Contains("'custom:vowels' is a function of the program that started the run", cli.Err);
        using (var loop = GenSharp.Training.GrpoTrainer.Resume(run, TorchSharp.torch.CPU, vowels, steps: 3))
            Assert.Equal(3, loop.Run().Step);
        Assert.Equal(3, batches);

        GenSharp.Training.GrpoTrainer.RewardFunction nan = rows => [.. rows.Select(_ => double.NaN)];
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            using var loop = GenSharp.Training.GrpoTrainer.Create(Path.Combine(_dir, "nan"), opt, "test", TorchSharp.torch.CPU, nan);
            loop.Run();
        });
        Assert.Contains("--reward custom:vowels gave NaN for the completion", e.Message);
        GenSharp.Training.GrpoTrainer.RewardFunction short1 = rows => [0.5];
        Assert.Contains("returned 1 rewards for 8 samples", Assert.Throws<InvalidDataException>(() =>
        {
            using var loop = GenSharp.Training.GrpoTrainer.Create(Path.Combine(_dir, "short"), opt, "test", TorchSharp.torch.CPU, short1);
            loop.Run();
        }).Message);
        Assert.Contains("name the function: custom:NAME", Assert.Throws<ArgumentException>(() =>
            GenSharp.Training.GrpoTrainer.Create(Path.Combine(_dir, "x"), opt with { Reward = "exact-match" }, "test", TorchSharp.torch.CPU, vowels)).Message);
    }

    [Fact]
    public void BadRewardsAndPromptsAreNamed()
    {
        var noAnswers = Jsonl("p.jsonl", new { prompt = "ROMEO:\n" }, new { prompt = "JULIET:\n" });
        string Err(params string[] extra) => CliRunner.Run(null, ["align", "grpo", "--model", CliRunner.Bundled(), "--out", Path.Combine(_dir, Guid.NewGuid().ToString()), .. extra]).Err;
        Assert.Contains("--reward exact-match needs an 'answer' in every row; 2 row(s) have none", Err("--prompts", noAnswers));
        Assert.Contains("not a valid regular expression", Err("--prompts", noAnswers, "--reward", "regex:("));
        Assert.Contains("expected length:MIN-MAX", Err("--prompts", noAnswers, "--reward", "length:x"));
        Assert.Contains("is not exact-match, regex:PATTERN", Err("--prompts", noAnswers, "--reward", "banana"));
        Assert.Contains("--temperature must be in (0, 10]", Err("--prompts", noAnswers, "--temperature", "0"));
        var bad = Jsonl("bad.jsonl", new { prompt = "ROMEO:\n" }, new { question = "x" });
        Assert.Contains($"{bad}:2: expected an object with 'prompt'", Err("--prompts", bad, "--reward", "regex:a"));
        var robot = Jsonl("robot.jsonl", new { prompt = new[] { new { role = "robot", content = "hi" } } });
        Assert.Contains($"{robot}:1: prompt[0].role 'robot' is not system, user or assistant", Err("--prompts", robot, "--reward", "regex:a"));
        var tooLong = Jsonl("long.jsonl", new { prompt = new string('a', 125) });
        Assert.Contains("leave room for the completion", Err("--prompts", tooLong, "--reward", "regex:a", "--max-tokens", "8"));
    }

    [Fact]
    public void CheckableRewardsAndPromptRows()
    {
        Assert.Equal(1, CheckableRewards.ExactMatch(" 579\n", "579"));
        Assert.Equal(0, CheckableRewards.ExactMatch("5790", "579"));
        Assert.Equal(1, CheckableRewards.Matches("^I ")("I am"));
        Assert.Equal(0, CheckableRewards.Matches("^I ")("If"));
        Assert.Equal([0.0, 1, 1, 0], new[] { "ab", "abc", "abcd", "abcde" }.Select(CheckableRewards.LengthWindow(3, 4)));
        Assert.Throws<ArgumentException>(() => CheckableRewards.LengthWindow(5, 4));

        var path = Jsonl("rows.jsonl", new { prompt = new[] { new { role = "user", content = "Who?" } }, answer = 3 }, new { prompt = "ab", answer = "cd" });
        var data = PromptDataset.Load(path, Chars, ChatTemplate.Default, 64, evalFraction: 0.5);
        var chat = Assert.Single(data.Train);
        Assert.Equal(ChatTemplate.Default.Render([new ChatMessage("user", "Who?")], addGenerationPrompt: true), chat.Text);
        Assert.Equal("3", chat.Answer);
        Assert.Equal("cd", Assert.Single(data.Eval).Answer);
    }
}
