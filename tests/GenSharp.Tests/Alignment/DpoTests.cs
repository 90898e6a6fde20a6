using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.IO;
using GenSharp.Pipelines;
using GenSharp.Tests.Cli;
using GenSharp.Tests.Training;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Alignment;

/// <summary>DPO end to end through the CLI: a planted preference learnt against a reference that never moves.</summary>
[Collection(GlobalRngCollection.Name)]
public sealed class DpoTests : TempDirectoryTest
{
    string PlantedData(int train, int heldOut)
    {
        var path = Path.Combine(_dir, "pairs.jsonl");
        File.WriteAllLines(path, PlantedPreference.Rows(train, heldOut, seed: 5));
        return path;
    }

    static List<JsonNode> Metrics(string run) => [.. File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)];

    [Fact]
    public void LoraDpoLearnsAPlantedPreferenceAndTheReferenceNeverMoves()
    {
        var data = PlantedData(120, 30);
        var run = Path.Combine(_dir, "dpo");
        var baseWeights = Path.Combine(CliRunner.Bundled(), "model.safetensors");
        var before = FileHash.Sha256(baseWeights);
        var (code, output, err) = CliRunner.Run(null, "align", "dpo", "--model", CliRunner.Bundled(), "--data", data, "--out", run,
            "--method", "lora", "--beta", "0.1", "--steps", "60", "--batch-size", "8", "--lr", "3e-3", "--eval-fraction", "0.2", "--eval-interval", "30", "--threads", "2");
        Assert.True(code == 0, output + err);
        Assert.Contains("standard pairs: 120 training, 30 held-out", output);
        var evals = Metrics(run).Where(m => m["eval_rewards/accuracies"] is not null).ToList();
        var last = evals[^1];
        Assert.True((double)last["eval_rewards/accuracies"]! >= 0.7, $"held-out reward accuracy: {last}");   // a policy that learnt nothing: 0 (ties), chance: 0.5
        Assert.True((double)last["eval_rewards/margins"]! > 0, $"{last}");
        Assert.True((double)last["eval_rewards/chosen"]! > (double)last["eval_rewards/rejected"]!, $"{last}");
        Assert.NotNull(Metrics(run).First(m => m["rewards/margins"] is not null)["logps/chosen"]);   // TRL's metric names in the training log

        // The reference is the starting model: its cached log-probabilities are the base model's, recomputed here, and the
        // base weights are bitwise what they were.
        Assert.Equal(before, FileHash.Sha256(baseWeights));
        var reference = SafeTensors.Load(Path.Combine(run, "reference_logps.safetensors"));
        var text = AutoPipeline.OpenText(CliRunner.Bundled());
        var pairs = PreferenceDataset.Load(data, text.Tokenizer, ChatTemplate.Load(CliRunner.Bundled()), text.Model.Config.MaxPositions,
            new SftDataOptions { EvalFraction = 0.2 });
        using (no_grad())
        {
            var (input, target) = SftDataset.Layout([.. pairs.Train.Take(4).Select(p => p.Chosen)], CPU);
            var mask = target.ne(SftDataset.IgnoreIndex);
            var logp = (text.Model.forward(input).log_softmax(-1).gather(2, target.clamp_min(0).unsqueeze(-1)).squeeze(-1) * mask).sum(1);
            Assert.True((logp - reference["train_chosen"].narrow(0, 0, 4)).abs().max().item<float>() < 1e-3);
        }
        text.Model.Dispose();

        // The adapter is PEFT's layout, usable by generate; the run resumes.
        Assert.True(File.Exists(Path.Combine(run, "adapter_model.safetensors")));
        var gen = CliRunner.Run(null, "generate", "--model", CliRunner.Bundled(), "--adapter", run, "--prompt", "Speak:\n", "--max-tokens", "20", "--seed", "1");
        Assert.True(gen.Code == 0, gen.Err);
        var (resumed, again, againErr) = CliRunner.Run(null, "align", "dpo", "--resume", "--out", run, "--steps", "64", "--threads", "2");
        Assert.True(resumed == 0, again + againErr);
        Assert.Contains("finished at step 64", again);
    }

    [Fact]
    public void FullDpoWritesAModelDirectoryAndBadInputIsNamed()
    {
        var data = PlantedData(16, 4);
        var run = Path.Combine(_dir, "full");
        var (code, output, err) = CliRunner.Run(null, "align", "dpo", "--model", CliRunner.Bundled(), "--data", data, "--out", run,
            "--method", "full", "--loss", "ipo", "--steps", "3", "--batch-size", "4", "--eval-interval", "3", "--threads", "2");
        Assert.True(code == 0, output + err);
        using (var chat = AutoPipeline.OpenChat(run).Text.Model) Assert.True(chat.ParameterCount > 0);
        Assert.Contains("IPO", File.ReadAllText(Path.Combine(run, "README.md")));

        var bad = CliRunner.Run(null, "align", "dpo", "--model", CliRunner.Bundled(), "--data", data, "--out", Path.Combine(_dir, "b"), "--beta", "0");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("--beta must be a positive number", bad.Err);
        bad = CliRunner.Run(null, "align", "dpo", "--model", CliRunner.Bundled(), "--data", data, "--out", Path.Combine(_dir, "c"), "--loss", "hinge");
        Assert.Contains("--loss must be sigmoid or ipo", bad.Err);
        var longPair = Path.Combine(_dir, "long.jsonl");
        File.WriteAllText(longPair, JsonSerializer.Serialize(new { prompt = new string('a', 200), chosen = "b", rejected = "c" }) + "\n");
        bad = CliRunner.Run(null, "align", "dpo", "--model", CliRunner.Bundled(), "--data", longPair, "--out", Path.Combine(_dir, "d"));
        Assert.Contains($"{longPair}:1: the example is", bad.Err);
        Assert.False(File.Exists(Path.Combine(_dir, "d", "adapter_model.safetensors")));
    }
}
