using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tests.Cli;
using GenSharp.Tests.Training;
using GenSharp.Tokenizers;
using GenSharp.Training;
using static TorchSharp.torch;

namespace GenSharp.Tests.FineTuning;

[Collection(GlobalRngCollection.Name)]
public sealed class VocabularyTests : TempDirectoryTest
{
    [Fact]
    public void AGrownVocabularyKeepsEveryOldTokenAndItsLogits()
    {
        var text = AutoPipeline.OpenText(CliRunner.Bundled());
        var chars = (CharTokenizer)text.Tokenizer;
        var extended = chars.Extend(["7", "+", "=", "a"]);          // "a" is known already: not added twice
        Assert.Equal(chars.VocabSize + 3, extended.VocabSize);
        Assert.Equal(chars.Encode("ROMEO: thou art"), extended.Encode("ROMEO: thou art"));
        Assert.Equal(chars.VocabSize, extended.Encode("7")[0]);

        using var grown = text.Model.WithVocabulary(extended.VocabSize);
        var x = tensor(chars.Encode("ROMEO: thou art").Select(i => (long)i).ToArray()).unsqueeze(0);
        using var _ = no_grad();
        var before = text.Model.forward(x);
        var after = grown.forward(x);
        Assert.Equal(extended.VocabSize, after.shape[^1]);
        Assert.True(after.narrow(-1, 0, chars.VocabSize).equal(before).all().item<bool>(), "old tokens' logits changed");
        var embed = grown.state_dict()["model.embed_tokens.weight"];
        Assert.True(embed[chars.VocabSize].allclose(text.Model.state_dict()["model.embed_tokens.weight"].mean([0]), atol: 1e-6));
    }

    [Fact]
    public void FineTuningOnNewCharactersExtendsTheVocabularyWithLoraAndFull()
    {
        var data = Path.Combine(_dir, "sums.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 40).Select(i => JsonSerializer.Serialize(new
        {
            messages = new[] { new { role = "user", content = $"What is {i % 7} + {i % 5}?" }, new { role = "assistant", content = $"{i % 7 + i % 5}" } },
        })));
        var opt = new SftOptions { BaseModel = CliRunner.Bundled(), Data = data, Steps = 6, BatchSize = 4, EvalInterval = 3, EvalBatches = 1, WarmupSteps = 1 };
        var refused = Assert.Throws<InvalidDataException>(() => SftTrainer.Create(Path.Combine(_dir, "no"), opt, "test", CPU));
        Assert.Contains("pass --extend-vocab to add them", refused.Message);

        var lora = Path.Combine(_dir, "lora");
        using (var loop = SftTrainer.Create(lora, opt with { ExtendVocab = true }, "test", CPU))
        {
            var task = (SftTrainer)loop.Task;
            Assert.Equal(65 + 10, task.Model.Config.VocabSize);           // nine digits (3 was there) and "+"
            loop.Run();
        }
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(lora, LoraAdapter.ConfigFile)))!;
        Assert.Equal(["embed_tokens", "lm_head"], config["modules_to_save"]!.AsArray().Select(n => (string)n!));
        var adapted = AutoPipeline.OpenText(CliRunner.Bundled(), adapter: lora);
        Assert.Equal(75, adapted.Tokenizer.VocabSize);
        var answer = adapted.Generate("USER:\nWhat is 2 + 2?\n\nASSISTANT:\n", new GenSharp.Sampling.GenerationOptions { MaxTokens = 3, Temperature = 0 });
        Assert.Equal(3, answer.Usage.CompletionTokens);
        Assert.Equal(65, AutoPipeline.OpenText(CliRunner.Bundled()).Tokenizer.VocabSize);   // the base on disk is as it was

        var full = Path.Combine(_dir, "full");
        using (var loop = SftTrainer.Create(full, opt with { ExtendVocab = true, Method = "full", LearningRate = 1e-4, MinLr = 1e-5 }, "test", CPU)) loop.Run();
        Assert.Equal(75, AutoPipeline.OpenText(full).Tokenizer.VocabSize);
    }
}
