using System.Text.Json.Nodes;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Optim;
using GenSharp.Pipelines;
using GenSharp.Tests.Cli;
using GenSharp.Tests.Training;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Tests.FineTuning;

[Collection(GlobalRngCollection.Name)]
public sealed class LoraTests : TempDirectoryTest
{
    static readonly LlamaConfig Tiny = new() { VocabSize = 40, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, MaxPositions = 16 };

    static LlamaForCausalLM Model(long seed = 3)
    {
        var m = new LlamaForCausalLM(Tiny);
        m.InitializeWeights(seed);
        m.eval();
        return m;
    }

    static Tensor Logits(LlamaForCausalLM m, Tensor x)
    {
        using var _ = no_grad();
        return m.forward(x);
    }

    // B = 0 at initialisation; give every update random values so the tests see it.
    static void Randomize(LlamaForCausalLM m, long seed)
    {
        using var _ = no_grad();
        var gen = new Generator((ulong)seed);
        foreach (var (_, l) in m.LoraLayers) l.B.normal_(0, 0.05, gen);
    }

    [Fact]
    public void AnUpdateIsScaleTimesBTimesATimesX()
    {
        var config = new LoraConfig { Rank = 4, Alpha = 12, Dropout = 0 };
        using var layer = new LoraLayer(6, 5, config, new Generator(1), CPU);
        using (no_grad()) layer.B.normal_(0, 1, new Generator(2));
        var x = randn(3, 6, generator: new Generator(3));
        var expected = x.matmul(layer.A.t()).matmul(layer.B.t()) * (12.0 / 4);   // (α/r)·B·A·x, row-wise
        Assert.True(layer.Delta(x, training: false).allclose(expected, rtol: 1e-5, atol: 1e-6));
        Assert.True(layer.Weight().allclose(layer.B.matmul(layer.A) * 3.0, rtol: 1e-5, atol: 1e-6));
        // PEFT's initialisation: A ~ U(−1/√in, 1/√in), B = 0.
        Assert.True(layer.A.abs().max().item<float>() <= 1 / Math.Sqrt(6));
        using var fresh = new LoraLayer(6, 5, config, new Generator(1), CPU);
        Assert.Equal(0, fresh.B.abs().sum().item<float>());
    }

    [Fact]
    public void ANewAdapterChangesNothingAndAMergedOneEqualsTheUnmergedOne()
    {
        using var m = Model();
        var x = randint(0, 40, [2, 12], generator: new Generator(5));
        var before = Logits(m, x);
        var layers = m.AttachLora(new LoraConfig { Rank = 4, Alpha = 8 }, seed: 1);
        Assert.Equal(2 * 7, layers.Count);
        Assert.Contains(layers, l => l.Path == "model.layers.1.mlp.down_proj");
        Assert.True(before.equal(Logits(m, x)).all().item<bool>(), "an adapter with B = 0 must change nothing");

        Randomize(m, 2);
        var adapted = Logits(m, x);
        Assert.True((adapted - before).abs().max().item<float>() > 1e-3, "the random update should change the logits");
        m.MergeLora();
        Assert.Empty(m.LoraLayers);
        Assert.True((Logits(m, x) - adapted).abs().max().item<float>() <= 1e-5);
        // The same holds with gradients on (the fused training path).
        using var m2 = Model();
        m2.AttachLora(new LoraConfig { Rank = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj", "up_proj"] }, seed: 1);
        Randomize(m2, 2);
        var trainingPath = m2.forward(x).detach();
        m2.MergeLora();
        Assert.True((Logits(m2, x) - trainingPath).abs().max().item<float>() <= 1e-5);
    }

    [Fact]
    public void TrainingMovesOnlyTheAdapterAndTheLossFalls()
    {
        // The bundled (pretrained) model learns a line it has never seen; only the adapter moves. (A randomly
        // initialised base cannot show this: its frozen output layer is too small to make confident logits.)
        var text = AutoPipeline.OpenText(CliRunner.Bundled());
        var m = text.Model;
        var baseWeights = m.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var layers = m.AttachLora(new LoraConfig { Rank = 8, Alpha = 16, Dropout = 0 }, seed: 4);
        m.train();
        using var adam = new AdamW(layers.SelectMany(l => new[] { ($"{l.Path}.A", l.Layer.A), ($"{l.Path}.B", l.Layer.B) }), weightDecay: 0);
        var ids = text.Tokenizer.Encode("Zounds! The quick brown fox jumps over the lazy dog, quoth Jaques.\n");
        var x = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            using var scope = NewDisposeScope();
            var logits = m.forward(x[.., ..^1]);
            var loss = F.cross_entropy(logits.reshape(-1, logits.shape[^1]), x[.., 1..].reshape(-1));
            loss.backward();
            adam.StepWith(1e-2, 1.0);
            adam.ZeroGrad();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first / 2, $"loss {first:F3} → {last:F3}");
        foreach (var (name, t) in m.state_dict())
            Assert.True(t.equal(baseWeights[name]).all().item<bool>(), $"base weight {name} changed");
    }

    [Fact]
    public void PeftLayoutRoundTripsAndMismatchesAreNamed()
    {
        using var m = Model();
        var config = new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0.1, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj"] };
        m.AttachLora(config, seed: 1);
        Randomize(m, 9);
        var adapter = Path.Combine(_dir, "adapter");
        LoraAdapter.Save(adapter, m, config, "models/base");
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(adapter, LoraAdapter.ConfigFile)))!;
        Assert.Equal("LORA", (string?)json["peft_type"]);
        Assert.Equal(4, (int)json["r"]!);
        Assert.Equal(8.0, (double)json["lora_alpha"]!);
        Assert.Equal("models/base", (string?)json["base_model_name_or_path"]);
        var names = SafeTensors.ReadHeader(Path.Combine(adapter, LoraAdapter.WeightsFile)).Tensors.Select(t => t.Name).ToHashSet();
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", names);
        Assert.Contains("base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight", names);
        Assert.Equal(2 * 4 * 2, names.Count);

        var x = randint(0, 40, [1, 10], generator: new Generator(7));
        using var fresh = Model();
        var read = LoraAdapter.Load(adapter, fresh);
        Assert.Same(fresh, read.Model);   // the vocabulary did not grow: the same model, adapted
        Assert.Null(read.Tokenizer);
        Assert.Equal(config.TargetModules, read.Config.TargetModules);
        Assert.True(Logits(m, x).equal(Logits(fresh, x)).all().item<bool>());

        // Another base model (wider) is refused with the tensor and both shapes named; nothing stays attached.
        using var wide = new LlamaForCausalLM(Tiny with { HiddenSize = 48, NumHeads = 4 });
        var e = Assert.Throws<ModelLoadException>(() => LoraAdapter.Load(adapter, wide));
        Assert.Contains("has shape [4, 32], this model needs [4, 48]", e.Message);
        Assert.Empty(wide.LoraLayers);
        // Unsupported PEFT features are named, not ignored.
        var cfg = Path.Combine(adapter, LoraAdapter.ConfigFile);
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"use_dora\": false", "\"use_dora\": true"));
        Assert.Contains("use_dora = true is not supported", Assert.Throws<ModelLoadException>(() => LoraAdapter.ReadConfig(adapter)).Message);
    }

    [Fact]
    public void MergeWritesAPlainModelDirectoryWithTheSameLogits()
    {
        var text = AutoPipeline.OpenText(CliRunner.Bundled());
        var config = new LoraConfig { Rank = 4, Alpha = 8 };
        text.Model.AttachLora(config, seed: 2);
        Randomize(text.Model, 3);
        var adapter = Path.Combine(_dir, "a");
        LoraAdapter.Save(adapter, text.Model, config, CliRunner.Bundled());
        var x = tensor(text.Tokenizer.Encode("ROMEO: what news?")).unsqueeze(0);
        var adapted = Logits(text.Model, x);
        var merged = Path.Combine(_dir, "merged");
        LoraAdapter.Merge(CliRunner.Bundled(), adapter, merged);
        var loaded = AutoPipeline.OpenText(merged);
        Assert.True((Logits(loaded.Model, x) - adapted).abs().max().item<float>() <= 1e-5);
        Assert.True(File.Exists(Path.Combine(merged, ChatTemplate.FileName)));

        // Independently, in plain Python following PEFT's definitions: W + (lora_alpha / r)·B@A equals the merged weight.
        foreach (var module in new[] { "model.layers.0.self_attn.q_proj", "model.layers.5.mlp.down_proj" })
        {
            var psi = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { Path.Combine(CliRunner.Repo(), "bench", "reference", "peft_merge_check.py"), CliRunner.Bundled(), adapter, merged, module })
                psi.ArgumentList.Add(a);
            using var p = System.Diagnostics.Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, output);
            Assert.Contains("scaling 2", output);
        }
    }
}
