using System.Text.Json.Nodes;
using GenSharp.Models;
using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Tests.Models;

/// <summary>Hub-layout checkpoints (Llama, Mistral, Qwen2; bf16/f16; sharded) opened as they are: the exact weights, the right model, bad files named.</summary>
public sealed class HfCheckpointTests : TempDirectoryTest
{
    static Tensor Logits(LlamaForCausalLM model, int[] ids)
    {
        using var _ = no_grad();
        return model.forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0));
    }

    [Theory]
    [InlineData("llama", "bf16", 3, false)]
    [InlineData("mistral", "f16", 2, false)]
    [InlineData("qwen2", "bf16", 1, true)]
    [InlineData("qwen2", "f32", 4, false)]
    public void HubCheckpointsOpenAsTheyAreWithExactlyTheirWeights(string family, string dtype, int shards, bool tied)
    {
        var dir = Path.Combine(_dir, $"{family}-{dtype}");
        using var expected = HfFixtures.Write(dir, family, dtype, shards, tied);
        Assert.Equal(shards > 1, File.Exists(Path.Combine(dir, ModelDirectory.WeightsIndexFile)));
        Assert.Equal(ModelKind.Language, AutoPipeline.Kind(dir));
        var (model, tokenizer) = ModelDirectory.Load(dir);
        using var _ = model;
        Assert.Equal(family, model.Config.ModelType);
        Assert.Equal(family == "qwen2", model.Config.QkvBias);
        var state = expected.state_dict();
        foreach (var (name, t) in model.state_dict())
        {
            Assert.Equal(ScalarType.Float32, t.dtype);
            Assert.True(t.equal(state[name]).all().item<bool>(), $"{name} differs");   // bf16/f16 widen exactly
        }
        var ids = tokenizer.Encode("ROMEO:\nBut soft, what light");
        Assert.True(Logits(model, ids).equal(Logits(expected, ids)).all().item<bool>());
        if (family == "qwen2")   // the biases are used: without them the logits move
        {
            using (no_grad()) foreach (var (name, t) in model.state_dict().Where(p => p.Key.EndsWith(".bias"))) t.zero_();
            Assert.True((Logits(model, ids) - Logits(expected, ids)).abs().max().item<float>() > 1e-3);
        }
        // Written back in the family's own layout: transformers would load it with its own class.
        var saved = Path.Combine(_dir, $"{family}-saved");
        ModelDirectory.Save(saved, expected, tokenizer);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "config.json")))!;
        Assert.Equal(family, (string?)json["model_type"]);
        Assert.Equal(LlamaConfig.Families[family], (string?)json["architectures"]![0]);
        using var again = ModelDirectory.Load(saved).Model;
        Assert.True(Logits(again, ids).equal(Logits(expected, ids)).all().item<bool>());
        // And exported to the hub layout again in the fixture's dtype and sharding: the very weights the fixture holds.
        var hub = Path.Combine(_dir, $"{family}-hub");
        GenSharp.Interop.HfCheckpoint.Export(dir, hub, dtype, maxShardBytes: shards > 1 ? 1 << 20 : 5L << 30);
        using var exported = ModelDirectory.Load(hub).Model;
        foreach (var (name, t) in exported.state_dict()) Assert.True(t.equal(state[name]).all().item<bool>(), $"{name} differs after export");
        Assert.Equal(family, (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(hub, "config.json")))!["model_type"]);
    }

    [Fact]
    public void RopeScalingStretchesTheFrequenciesAsLlama31AndPositionInterpolationSay()
    {
        double[] invFreq = [1, 0.1, 0.01, 0.001];   // wavelengths 6.3, 63, 628, 6283 against λ_hi = 64/4 = 16 and λ_lo = 64/1 = 64
        var llama3 = new RopeScaling { RopeType = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalContext = 64 };
        var scaled = llama3.Apply(invFreq);
        Assert.Equal(1, scaled[0]);                                  // high frequency: kept
        Assert.Equal(0.0130423, scaled[1], 6);                       // between: s = (64/62.83 − 1)/3 = 0.0062, (1 − s)·0.1/8 + s·0.1
        Assert.Equal(0.00125, scaled[2], 12);                        // low frequency: divided by the factor
        Assert.Equal(0.000125, scaled[3], 12);
        Assert.Equal([0.25, 0.025, 0.0025, 0.00025], new RopeScaling { LegacyType = "linear", Factor = 4 }.Apply(invFreq));
        // In a model: the hub fixture with llama3 scaling opens, keeps its rope_scaling when saved, and its logits differ from unscaled.
        var dir = Path.Combine(_dir, "rope");
        using var expected = HfFixtures.Write(dir, "llama", "f32", ropeScaling: llama3);
        var (model, tokenizer) = ModelDirectory.Load(dir);
        using var _ = model;
        Assert.Equal(llama3, model.Config.RopeScaling);
        var ids = tokenizer.Encode("ROMEO:\nBut soft, what light through yonder window breaks? It is the east.");
        Assert.True(Logits(model, ids).equal(Logits(expected, ids)).all().item<bool>());
        using var plain = new LlamaForCausalLM(model.Config with { RopeScaling = null });
        using (no_grad()) foreach (var (name, t) in plain.state_dict()) t.copy_(model.state_dict()[name]);
        Assert.True((Logits(plain, ids) - Logits(model, ids)).abs().max().item<float>() > 1e-4);
        Assert.Contains("\"rope_type\": \"llama3\"", model.Config.ToJson());
    }

    [Fact]
    public void BadCheckpointsAreRefusedNamingTheFileAndTheProblem()
    {
        string Error(string dir) => Assert.Throws<ModelLoadException>(() => ModelDirectory.Load(dir)).Message;
        string Fixture(string name, string family = "llama", int shards = 2)
        {
            var dir = Path.Combine(_dir, name);
            HfFixtures.Write(dir, family, "bf16", shards).Dispose();
            return dir;
        }
        void EditConfig(string dir, Action<JsonObject> edit)
        {
            var node = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
            edit(node);
            File.WriteAllText(Path.Combine(dir, "config.json"), node.ToJsonString());
        }
        void EditIndex(string dir, Action<JsonObject> edit)
        {
            var path = Path.Combine(dir, ModelDirectory.WeightsIndexFile);
            var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            edit(node["weight_map"]!.AsObject());
            File.WriteAllText(path, node.ToJsonString());
        }
        var d = Fixture("escape");
        EditIndex(d, m => m["model.norm.weight"] = "../../etc/passwd");
        Assert.Contains("is not a file in the model directory", Error(d));
        d = Fixture("moved");
        EditIndex(d, m => m["model.norm.weight"] = "model-00001-of-00002.safetensors");
        Assert.Matches("'model.norm.weight' is not in model-00001-of-00002.safetensors|tensor 'model.norm.weight' is not in", Error(d));
        d = Fixture("gone");
        File.Delete(Path.Combine(d, "model-00002-of-00002.safetensors"));
        Assert.Contains("model-00002-of-00002.safetensors: file not found", Error(d));
        d = Fixture("rope", shards: 1);
        EditConfig(d, c => c["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 });
        Assert.Contains("rope_scaling type 'yarn' is not supported (linear, llama3)", Error(d));
        EditConfig(d, c => c["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0 });
        Assert.Contains("rope_scaling llama3 needs low_freq_factor", Error(d));
        d = Fixture("gelu", shards: 1);
        EditConfig(d, c => c["hidden_act"] = "gelu");
        Assert.Contains("hidden_act 'gelu' is not supported", Error(d));
        d = Fixture("gemma", shards: 1);
        EditConfig(d, c => c["model_type"] = "gemma");
        Assert.Contains("model_type 'gemma' is not supported (llama, mistral, qwen2", Assert.ThrowsAny<Exception>(() => AutoPipeline.OpenText(d)).Message);
        d = Fixture("window", "mistral", shards: 1);
        EditConfig(d, c => c["sliding_window"] = 128);
        using var windowed = ModelDirectory.Load(d).Model;
        Assert.Equal(128, windowed.Config.MaxPositions);                                    // inside the window, sliding attention is full attention
    }
}
