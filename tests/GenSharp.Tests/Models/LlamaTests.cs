using GenSharp.Pipelines;
using GenSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Tests.Models;

public sealed class LlamaTests
{
    static readonly LlamaConfig Small = new() { VocabSize = 50, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4, NumKvHeads = 4, MaxPositions = 16 };

    static LlamaForCausalLM Build(LlamaConfig c, long seed = 1)
    {
        var m = new LlamaForCausalLM(c);
        m.InitializeWeights(seed);
        m.eval();
        return m;
    }

    [Fact]
    public void ParameterNamesAndShapesMatchHuggingFaceLlama()
    {
        using var m = Build(Small with { NumKvHeads = 2 });
        var shapes = m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal([50L, 32], shapes["model.embed_tokens.weight"]);
        Assert.Equal([32L, 32], shapes["model.layers.0.self_attn.q_proj.weight"]);
        Assert.Equal([16L, 32], shapes["model.layers.1.self_attn.k_proj.weight"]);   // 2 KV heads × 8
        Assert.Equal([16L, 32], shapes["model.layers.1.self_attn.v_proj.weight"]);
        Assert.Equal([32L, 32], shapes["model.layers.0.self_attn.o_proj.weight"]);
        Assert.Equal([64L, 32], shapes["model.layers.0.mlp.gate_proj.weight"]);
        Assert.Equal([64L, 32], shapes["model.layers.0.mlp.up_proj.weight"]);
        Assert.Equal([32L, 64], shapes["model.layers.0.mlp.down_proj.weight"]);
        Assert.Equal([32L], shapes["model.layers.0.input_layernorm.weight"]);
        Assert.Equal([32L], shapes["model.layers.0.post_attention_layernorm.weight"]);
        Assert.Equal([32L], shapes["model.norm.weight"]);
        Assert.Equal([50L, 32], shapes["lm_head.weight"]);
        Assert.Equal(2 * 9 + 3, shapes.Count);
    }

    [Fact]
    public void TiedEmbeddingsHaveNoLmHeadAndUseTheEmbedding()
    {
        using var m = Build(Small with { TieWordEmbeddings = true });
        Assert.DoesNotContain("lm_head.weight", m.state_dict().Keys);
        using var x = tensor(new long[] { 1, 2, 3 }).unsqueeze(0);
        using var logits = m.forward(x);
        Assert.Equal([1L, 3, 50], logits.shape);
    }

    [Fact]
    public void FutureTokensCannotChangePastLogits()
    {
        using var m = Build(Small);
        var a = randint(0, 50, [2, 12], generator: new Generator(7));
        var b = a.clone();
        b[.., 6..] = randint(0, 50, [2, 6], generator: new Generator(8));
        using var _ = no_grad();
        var la = m.forward(a);
        var lb = m.forward(b);
        Assert.True(la[.., ..6].allclose(lb[.., ..6], rtol: 0, atol: 1e-6));
        Assert.False(la[.., 6..].allclose(lb[.., 6..], rtol: 0, atol: 1e-3));
    }

    [Fact]
    public void RopeMatchesHandComputedRotation()
    {
        // head_dim 4, theta 10000: inv_freq = [1, 0.01]; pairs are (x0, x2) at angle p and (x1, x3) at angle 0.01p.
        var (cos, sin) = Rope.Tables(tensor(new long[] { 0, 1, 2 }), 4, 10000);
        var x = tensor(new float[] { 1, 2, 3, 4 }).expand(3, 4);
        var y = Rope.Apply(x, cos, Rope.SignedSin(sin));
        for (int p = 0; p < 3; p++)
        {
            double a = p, b = 0.01 * p;
            double[] expected =
            [
                1 * Math.Cos(a) - 3 * Math.Sin(a), 2 * Math.Cos(b) - 4 * Math.Sin(b),
                3 * Math.Cos(a) + 1 * Math.Sin(a), 4 * Math.Cos(b) + 2 * Math.Sin(b),
            ];
            for (int i = 0; i < 4; i++) Assert.Equal(expected[i], y[p, i].item<float>(), 5);
        }
        // Rotation preserves the norm of each pair.
        Assert.Equal(x.norm(dim: -1).to(float64).data<double>().ToArray(), y.norm(dim: -1).to(float64).data<double>().ToArray(), new ToleranceComparer(1e-5));
    }

    [Fact]
    public void GroupedQueryAttentionEqualsMhaWithRepeatedHeads()
    {
        var gqaCfg = Small with { NumKvHeads = 2 };
        using var gqa = Build(gqaCfg, seed: 3);
        using var mha = Build(Small, seed: 4);
        var src = gqa.state_dict();
        using (no_grad())
            foreach (var (name, p) in mha.state_dict())
            {
                if (name.EndsWith("k_proj.weight") || name.EndsWith("v_proj.weight"))
                {
                    // KV head j serves query heads 2j and 2j+1 (HF repeat_kv order).
                    var kv = src[name].view(2, 8, 32);
                    p.copy_(kv.repeat_interleave(2, dim: 0).reshape(32, 32));
                }
                else p.copy_(src[name]);
            }
        var x = randint(0, 50, [2, 10], generator: new Generator(5));
        using var _ = no_grad();
        Assert.True(gqa.forward(x).allclose(mha.forward(x), rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void ConfigJsonRoundTripsWithHuggingFaceKeys()
    {
        var cfg = Small with { NumKvHeads = 2, TieWordEmbeddings = true, RopeTheta = 500000 };
        var json = cfg.ToJson();
        Assert.Contains("\"model_type\": \"llama\"", json);
        Assert.Contains("\"LlamaForCausalLM\"", json);
        Assert.Contains("\"num_key_value_heads\": 2", json);
        Assert.Equal(cfg, LlamaConfig.FromJson(json, "test"));
    }

    [Fact]
    public void InvalidConfigsAreRejectedWithTheReason()
    {
        Assert.Contains("not divisible", Assert.Throws<ArgumentException>(() => (Small with { NumHeads = 3 }).Validate()).Message);
        Assert.Contains("num_key_value_heads", Assert.Throws<ArgumentException>(() => (Small with { NumKvHeads = 3 }).Validate()).Message);
        Assert.Contains("model_type 'gpt2'", Assert.Throws<ArgumentException>(() => LlamaConfig.FromJson("""{"model_type":"gpt2"}""", "c.json")).Message);
        using var m = Build(Small);
        Assert.Contains("exceeds max_position_embeddings", Assert.Throws<ArgumentException>(() => m.forward(zeros(1, 17, dtype: ScalarType.Int64))).Message);
    }

    [Fact]
    public void SavedModelDirectoryLoadsToIdenticalLogits()
    {
        var dir = Directory.CreateTempSubdirectory("gensharp-model-").FullName;
        try
        {
            using var m = Build(Small);
            var tok = GenSharp.Tokenizers.CharTokenizer.Train(new string(Enumerable.Range(0, 50).Select(i => (char)('0' + i)).ToArray()));
            ModelDirectory.Save(dir, m, tok, "# card\n");
            var (loaded, tok2) = ModelDirectory.Load(dir);
            var x = randint(0, 50, [1, 8]);
            using var _ = no_grad();
            Assert.True(m.forward(x).equal(loaded.forward(x)).all().item<bool>());
            Assert.Equal(50, tok2.VocabSize);
            // A model file from another shape is refused with the tensor named.
            using var other = Build(Small with { HiddenSize = 16, IntermediateSize = 32 });
            ModelDirectory.SaveWeights(Path.Combine(dir, ModelDirectory.WeightsFile), other);
            var e = Assert.Throws<ModelLoadException>(() => ModelDirectory.Load(dir));
            Assert.Contains("the config does not belong to these weights", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    sealed class ToleranceComparer(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(double obj) => 0;
    }
}
