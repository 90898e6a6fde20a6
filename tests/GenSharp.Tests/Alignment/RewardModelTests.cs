using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.Feedback;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tests.Cli;
using GenSharp.Tests.Training;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Alignment;

/// <summary>Reward models: HF's LlamaForSequenceClassification layout, scores at the last token, training on a planted preference.</summary>
[Collection(GlobalRngCollection.Name)]
public sealed class RewardModelTests : TempDirectoryTest
{
    [Fact]
    public void TheDirectoryIsHfsSequenceClassificationLayoutAndScoresReadTheLastToken()
    {
        var lm = AutoPipeline.OpenText(CliRunner.Bundled());
        using var rm = LlamaForSequenceClassification.FromLanguageModel(lm.Model, seed: 3);
        var template = ChatTemplate.Load(CliRunner.Bundled());
        var dir = Path.Combine(_dir, "rm");
        ModelDirectory.SaveReward(dir, rm, lm.Tokenizer, template);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        Assert.Equal("LlamaForSequenceClassification", (string)config["architectures"]![0]!);
        Assert.Equal("llama", (string)config["model_type"]!);
        Assert.Equal(1, (int)config["num_labels"]!);
        Assert.Equal("LABEL_0", (string)config["id2label"]!["0"]!);
        var names = SafeTensors.ReadHeader(Path.Combine(dir, "model.safetensors")).Tensors.ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal([1L, 192L], names["score.weight"]);
        Assert.DoesNotContain("lm_head.weight", names.Keys);
        Assert.Equal(lm.Model.state_dict().Keys.Where(k => k != "lm_head.weight").Append("score.weight").Order(), names.Keys.Order());

        using var reward = AutoPipeline.OpenReward(dir);
        var ids = lm.Tokenizer.Encode("ROMEO:\nWhat light");
        double expected;
        using (no_grad())
        {
            var h = lm.Model.HiddenStates(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))[0, -1];   // the language model's own decoder
            expected = h.dot(reward.Model.state_dict()["score.weight"][0]).item<float>();
        }
        Assert.Equal(expected, reward.Score("ROMEO:\n", "What light"), 4);
        // Rows of different lengths in one right-padded batch score as they do alone.
        var rows = new (JsonNode, JsonNode)[] { (JsonValue.Create("ROMEO:\n"), JsonValue.Create("What light")), (JsonValue.Create("JULIET:\n"), JsonValue.Create("Ay me!")) };
        var batch = reward.Score(rows);
        Assert.Equal(expected, batch[0], 4);
        Assert.Equal(reward.Score("JULIET:\n", "Ay me!"), batch[1], 4);
        Assert.Contains("holds a reward model (LlamaForSequenceClassification), not a language model",
            Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenText(dir)).Message);
        Assert.Contains("holds a language model, not a reward model", Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenReward(CliRunner.Bundled())).Message);
        lm.Model.Dispose();
    }

    [Fact]
    public void TrainRewardLearnsAPlantedPreferenceAndScoreRanksFreshAnswers()
    {
        var data = Path.Combine(_dir, "pairs.jsonl");
        File.WriteAllLines(data, PlantedPreference.Rows(160, 40, seed: 1));   // the 40 held-out pairs are of lines never trained on
        var run = Path.Combine(_dir, "rm");
        var (code, output, err) = CliRunner.Run(null, "train", "reward", "--model", CliRunner.Bundled(), "--data", data, "--out", run,
            "--steps", "60", "--batch-size", "8", "--eval-fraction", "0.2", "--eval-interval", "30", "--threads", "2");
        Assert.True(code == 0, output + err);
        Assert.Contains("standard pairs: 160 training, 40 held-out", output);
        var steps = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        var losses = steps.Where(s => s["loss"] is not null).Select(s => (double)s["loss"]!).ToList();
        Assert.True(losses.TakeLast(2).Average() < losses.Take(2).Average() / 2, $"the Bradley–Terry loss should fall: {string.Join(", ", losses)}");
        var eval = steps.Last(s => s["eval_accuracy"] is not null);
        Assert.True((double)eval["eval_accuracy"]! >= 0.85, $"held-out accuracy {eval}");

        var (c1, love, _) = CliRunner.Run(null, "score", "--reward", run, "--prompt", "Speak:\n", "--response", "I love thee, and I love thee still");
        var (c2, plain, _) = CliRunner.Run(null, "score", "--reward", run, "--prompt", "Speak:\n", "--response", "I pray thee, and I pray thee still");
        Assert.Equal((0, 0), (c1, c2));
        Assert.True(double.Parse(love) > double.Parse(plain), $"love {love} vs plain {plain}");

        var (resumed, again, _) = CliRunner.Run(null, "train", "reward", "--resume", "--out", run, "--steps", "70", "--threads", "2");
        Assert.True(resumed == 0, again);
        Assert.Contains("resuming", again);
        Assert.Contains("finished at step 70", again);
    }

    [Fact]
    public void FeedbackStoresAreReadOrRefusedWithTheReason()
    {
        var db = Path.Combine(_dir, "feedback.db");
        ChatMessage[] q = [new("user", "Speak of it.")];
        using (var store = new FeedbackStore(db)) store.Add(new Rating("m", q, "I love it.", 1, null));   // one-sided: no pair
        var run = Path.Combine(_dir, "rm");
        var (code, _, err) = CliRunner.Run(null, "train", "reward", "--model", CliRunner.Bundled(), "--feedback", db, "--out", run, "--steps", "2");
        Assert.NotEqual(0, code);
        Assert.Contains("no preference pairs — it holds 0 A/B picks and 1 👍 / 0 👎", err);
        Assert.False(File.Exists(Path.Combine(run, "model.safetensors")));

        using (var store = new FeedbackStore(db))
        {
            store.Add(new Rating("m", q, "I hate it.", -1, null));
            store.Add(new Comparison("m", q, "Love is all.", "It is all.", null));
        }
        (code, var output, err) = CliRunner.Run(null, "train", "reward", "--model", CliRunner.Bundled(), "--feedback", db, "--out", run, "--steps", "2",
            "--eval-fraction", "0");
        Assert.True(code == 0, output + err);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(run, "feedback-pairs.jsonl")).Length);
        Assert.Contains("conversational pairs: 2 training", output);
        using var reward = AutoPipeline.OpenReward(run);
        Assert.True(double.IsFinite(reward.Score(q, "Love is all.")));

        var both = CliRunner.Run(null, "train", "reward", "--model", CliRunner.Bundled(), "--feedback", db, "--data", db, "--out", Path.Combine(_dir, "x"));
        Assert.Contains("pass --data or --feedback, not both", both.Err);
        var same = Path.Combine(_dir, "same.jsonl");
        File.WriteAllText(same, """{"prompt": "Speak:\n", "chosen": "Ay.", "rejected": "Ay."}""" + "\n");
        var (sameCode, _, sameErr) = CliRunner.Run(null, "train", "reward", "--model", CliRunner.Bundled(), "--data", same, "--out", Path.Combine(_dir, "y"));
        Assert.NotEqual(0, sameCode);
        Assert.Contains($"{same}:1: 'chosen' and 'rejected' are the same answer", sameErr);
    }
}
