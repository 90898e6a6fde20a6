using System.Text.Json;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tests.Cli;
using GenSharp.Tests.Training;
using GenSharp.Tokenizers;
using GenSharp.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Tests.FineTuning;

[Collection(GlobalRngCollection.Name)]
public sealed class SftTests : JsonlTest
{
    static object Chat(params (string Role, string Content)[] turns) => new { messages = turns.Select(t => new { role = t.Role, content = t.Content }) };

    [Fact]
    public void OnlyCompletionTokensAreTargetsAndTheLossIsTheirMeanCrossEntropy()
    {
        var path = Jsonl("pc.jsonl", new { prompt = "ab", completion = "cd" });
        var data = SftDataset.Load(path, Chars, ChatTemplate.Default, 16, new SftDataOptions { EvalFraction = 0 });
        Assert.Equal("prompt-completion", data.Format);
        var e = Assert.Single(data.Train);
        Assert.Equal([false, false, true, true], e.Train);
        var (x, y) = data.Batch(false, 1, 1, 0, CPU);
        Assert.Equal(Chars.Encode("abc").Select(i => (long)i), x[0].data<long>().ToArray());
        Assert.Equal([SftDataset.IgnoreIndex, Chars.Encode("c")[0], Chars.Encode("d")[0]], y[0].data<long>().ToArray());

        // The masked loss equals the mean of −log p over the two completion targets, computed by hand.
        var model = new LlamaForCausalLM(new LlamaConfig { VocabSize = Chars.VocabSize, HiddenSize = 16, IntermediateSize = 32, NumLayers = 1, NumHeads = 2, NumKvHeads = 2, MaxPositions = 16 });
        model.InitializeWeights(1);
        using var _ = no_grad();
        var logits = model.forward(x)[0];                                  // (3, V)
        var logp = logits.log_softmax(-1);
        double expected = -(logp[1, Chars.Encode("c")[0]].item<float>() + logp[2, Chars.Encode("d")[0]].item<float>()) / 2;
        double masked = F.cross_entropy(logits, y[0], ignore_index: SftDataset.IgnoreIndex).item<float>();
        Assert.Equal(expected, masked, 5);
    }

    [Fact]
    public void ConversationsTrainOnAssistantTurnsAndTheirEndOfTurnOnly()
    {
        var path = Jsonl("chat.jsonl", Chat(("user", "hi"), ("assistant", "yo"), ("user", "ok?"), ("assistant", "ay")));
        var data = SftDataset.Load(path, Chars, ChatTemplate.Default, 128, new SftDataOptions { EvalFraction = 0, System = "be brief" });
        var e = Assert.Single(data.Train);
        var text = Chars.Decode(e.Tokens);
        Assert.Equal("be brief\n\nUSER:\nhi\n\nASSISTANT:\nyo\n\nUSER:\nok?\n\nASSISTANT:\nay\n\n", text);
        var trained = string.Concat(e.Tokens.Where((_, i) => e.Train[i]).Select(t => Chars.Decode([t])));
        Assert.Equal("yo\n\nay\n\n", trained);   // the replies and their end of turn; not "ASSISTANT:", the user or the system
    }

    [Fact]
    public void AJinjaTemplatesConversationsTrainOnTheAssistantsSpansRenderedPrefixByPrefix()
    {
        // ChatML's shape in the characters the test tokenizer has: a role header, the content, an end-of-turn marker.
        var chatml = ChatTemplate.FromJinja("{% for m in messages %}:{{ m.role | upper }}:\n{{ m.content }}!!\n{% endfor %}{% if add_generation_prompt %}:ASSISTANT:\n{% endif %}", "", "!!", "test");
        var path = Jsonl("chat.jsonl", Chat(("user", "hi"), ("assistant", "yo"), ("user", "ok?"), ("assistant", "ay")));
        var data = SftDataset.Load(path, Chars, chatml, 128, new SftDataOptions { EvalFraction = 0, System = "be brief" });
        var e = Assert.Single(data.Train);
        Assert.Equal(":SYSTEM:\nbe brief!!\n:USER:\nhi!!\n:ASSISTANT:\nyo!!\n:USER:\nok?!!\n:ASSISTANT:\nay!!\n", Chars.Decode(e.Tokens));
        var trained = string.Concat(e.Tokens.Where((_, i) => e.Train[i]).Select(t => Chars.Decode([t])));
        Assert.Equal("yo!!\nay!!\n", trained);   // each reply and its end of turn; headers, system and user turns are context

        // A template whose rendering of a conversation is not its prefix's extended (it numbers the last message) is refused by name.
        var shifting = ChatTemplate.FromJinja("{% for m in messages %}{% if loop.last %}LAST {% endif %}{{ m.content }}\n{% endfor %}", "", "", "test");
        var error = Assert.Throws<InvalidDataException>(() => SftDataset.Load(path, Chars, shifting, 128, new SftDataOptions { EvalFraction = 0 }));
        Assert.Contains("does not render message 2 as an extension of the messages before it", error.Message);
    }

    [Fact]
    public void BadLinesAreNamedByFileAndLineOrSkippedAndCounted()
    {
        var lines = new object[]
        {
            Chat(("user", "hi"), ("assistant", "yo")),
            "{\"messages\": [",
            Chat(("wizard", "hi"), ("assistant", "yo")),
            new { messages = new[] { new { role = "user" } } },
            new { messages = Array.Empty<object>() },
            Chat(("user", new string('a', 200)), ("assistant", "yo")),
            Chat(("user", "only a question")),
            Chat(("user", "hi"), ("assistant", "fine")),
        };
        string[] expected = ["not valid JSON", "role 'wizard' is not system, user or assistant", "has no content", "an empty conversation",
                             "tokens; the model's context holds 64", "no assistant message"];
        for (int bad = 1; bad <= 6; bad++)
        {
            var path = Jsonl($"bad{bad}.jsonl", lines[0], lines[bad]);
            var e = Assert.Throws<InvalidDataException>(() => SftDataset.Load(path, Chars, ChatTemplate.Default, 64, new SftDataOptions()));
            Assert.StartsWith($"{path}:2: ", e.Message);
            Assert.Contains(expected[bad - 1], e.Message);
            Assert.Contains("--skip-bad", e.Message);
        }
        var all = SftDataset.Load(Jsonl("all.jsonl", lines), Chars, ChatTemplate.Default, 64, new SftDataOptions { SkipBad = true, EvalFraction = 0.5 });
        Assert.Equal(6, all.Skipped);
        Assert.Single(all.Train);
        Assert.Single(all.Eval);

        var unknown = Jsonl("digits.jsonl", Chat(("user", "7 plus 5?"), ("assistant", "12")));
        var u = Assert.Throws<InvalidDataException>(() => SftDataset.Load(unknown, Chars, ChatTemplate.Default, 64, new SftDataOptions()));
        Assert.Contains("4 character(s) are not in the model's vocabulary: '1' (U+0031, line 1), '2' (U+0032, line 1), '5' (U+0035, line 1), '7' (U+0037, line 1)", u.Message);
    }

    static string Rows(string dir, int n)
    {
        string[] names = ["Romeo", "Juliet", "Hamlet", "Ophelia", "Lear", "Cordelia"];
        var path = Path.Combine(dir, "chat.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, n).Select(i => JsonSerializer.Serialize(
            Chat(("user", $"Who loves {names[i % names.Length]}?"), ("assistant", $"Truly, {names[i % names.Length]} is loved by all.")))));
        return path;
    }

    [Fact]
    public void LoraFineTuningLearnsTheRepliesLeavesTheBaseAloneAndResumesExactly()
    {
        var data = Rows(_dir, 60);
        var opt = new SftOptions { BaseModel = CliRunner.Bundled(), Data = data, Method = "lora", Steps = 10, BatchSize = 4, EvalInterval = 5, EvalBatches = 2, WarmupSteps = 2, LogInterval = 1 };
        var full = Path.Combine(_dir, "full");
        TrainResult result;
        using (var loop = SftTrainer.Create(full, opt, "test", CPU))
        {
            var task = (SftTrainer)loop.Task;
            // r·(in + out) per projection: 6 layers × r 8 × (4 attention × (192 + 192) + 3 MLP × (192 + 512)).
            Assert.Equal(6 * 8 * (4 * 384 + 3 * 704), task.TrainableParameters);
            result = loop.Run();
            // The frozen base is bitwise the bundled model.
            var bundled = AutoPipeline.OpenText(CliRunner.Bundled()).Model.state_dict();
            foreach (var (name, t) in task.Model.state_dict()) Assert.True(t.equal(bundled[name]).all().item<bool>(), name);
        }
        var evals = File.ReadLines(Path.Combine(full, TrainingLoop.MetricsLog)).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("eval_loss", out _)).Select(e => e.GetProperty("eval_loss").GetDouble()).ToArray();
        Assert.Equal(2, evals.Length);
        Assert.True(evals[1] < evals[0], $"eval loss {evals[0]:F3} → {evals[1]:F3}");
        Assert.True(File.Exists(Path.Combine(full, LoraAdapter.ConfigFile)) && File.Exists(Path.Combine(full, LoraAdapter.WeightsFile)));
        Assert.False(File.Exists(Path.Combine(full, "model.safetensors")));

        // Stopped after step 3 (as Ctrl-C would), then resumed: the same adapter, bit for bit.
        var split = Path.Combine(_dir, "split");
        using (var loop = SftTrainer.Create(split, opt, "test", CPU))
        using (var cts = new CancellationTokenSource())
            Assert.True(loop.Run(cts.Token, new CancelAt(3, cts)).Cancelled);
        using (var loop = TrainingLoop.Resume(split, CPU)) loop.Run();
        Assert.Equal(File.ReadAllBytes(Path.Combine(full, LoraAdapter.WeightsFile)), File.ReadAllBytes(Path.Combine(split, LoraAdapter.WeightsFile)));
    }

    sealed class CancelAt(long step, CancellationTokenSource cts) : ITrainingObserver
    {
        public void OnStep(StepMetrics m) { if (m.Step == step) cts.Cancel(); }
    }

    [Fact]
    public void TheCliFineTunesGeneratesWithTheAdapterAndMergesIt()
    {
        var data = Rows(_dir, 60);
        var adapter = Path.Combine(_dir, "adapter");
        var train = CliRunner.Run(null, "finetune", "--model", CliRunner.Bundled(), "--data", data, "--out", adapter, "--steps", "40", "--batch-size", "8",
            "--eval-interval", "20", "--eval-iters", "1", "--threads", "2");
        Assert.True(train.Code == 0, train.Err);
        Assert.Contains("messages data: 54 training, 6 held-out examples", train.Out);
        var prompt = "USER:\nWho loves Hamlet?\n\nASSISTANT:\n";
        var withAdapter = CliRunner.Run(null, "generate", "--model", CliRunner.Bundled(), "--adapter", adapter, "--prompt", prompt, "--max-tokens", "30", "--temperature", "0", "--stop", "\\n\\n");
        Assert.True(withAdapter.Code == 0, withAdapter.Err);
        Assert.StartsWith(prompt + "Truly, ", withAdapter.Out);   // the replies' shape was learned

        var merged = Path.Combine(_dir, "merged");
        Assert.Equal(0, CliRunner.Run(null, "lora", "merge", "--model", CliRunner.Bundled(), "--adapter", adapter, "--out", merged).Code);
        var fromMerged = CliRunner.Run(null, "generate", "--model", merged, "--prompt", prompt, "--max-tokens", "30", "--temperature", "0", "--stop", "\\n\\n");
        Assert.Equal(withAdapter.Out, fromMerged.Out);

        var wrongBase = CliRunner.Run(null, "generate", "--model", CliRunner.Bundled(), "--adapter", CliRunner.Bundled(), "--prompt", "a");
        Assert.Equal(1, wrongBase.Code);
        Assert.Contains("adapter_config.json: file not found", wrongBase.Err);
    }
}
