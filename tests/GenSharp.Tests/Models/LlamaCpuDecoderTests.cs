using GenSharp.Models;
using GenSharp.Numerics;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using static TorchSharp.torch;

namespace GenSharp.Tests.Models;

/// <summary>
/// The CPU decode kernels against libtorch's forward pass of the same model: logits of every decode step for rows of
/// different lengths in any slot order, on every instruction set this CPU has (the portable path forced too), with 1 and
/// 2 threads, for MHA, GQA, Qwen2's biases with tied embeddings and scaled RoPE; greedy text through the engine.
/// </summary>
public sealed class LlamaCpuDecoderTests
{
    public static TheoryData<string> Families => new() { "mha", "gqa", "qwen2-tied-linear" };

    static LlamaConfig Config(string family) => family switch
    {
        "mha" => new() { VocabSize = 61, HiddenSize = 48, IntermediateSize = 100, NumLayers = 2, NumHeads = 4, NumKvHeads = 4, MaxPositions = 24 },
        "gqa" => new() { VocabSize = 67, HiddenSize = 64, IntermediateSize = 136, NumLayers = 3, NumHeads = 8, NumKvHeads = 2, MaxPositions = 24 },
        _ => new()
        {
            VocabSize = 53, HiddenSize = 64, IntermediateSize = 96, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, MaxPositions = 24,
            ModelType = "qwen2", QkvBias = true, TieWordEmbeddings = true, RopeTheta = 1e6, RopeScaling = new RopeScaling { RopeType = "linear", Factor = 2 },
        },
    };

    static LlamaForCausalLM Build(LlamaConfig c, long seed = 3)
    {
        var m = new LlamaForCausalLM(c);
        m.InitializeWeights(seed);
        using (no_grad())
            foreach (var (name, p) in m.named_parameters())
                if (p.dim() == 1) p.add_(randn(p.shape, generator: new Generator((ulong)name.Length)) * 0.1);   // norms and biases away from their init
        m.eval();
        return m;
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void DecodeStepsEqualLibtorchsOnEveryPathAndThreadCount(string family)
    {
        var c = Config(family);
        using var m = Build(c);
        using var _ = no_grad();
        long[] a = [1, 5, 9, 2, 7, 3, 8], b = [4, 6];
        foreach (var path in SimdPaths.Supported())
            foreach (int threads in new[] { 1, 2 })
            {
                using var reference = new KvCache(c, slots: 3);
                using var cache = new KvCache(c, slots: 3);
                using var decoder = new LlamaCpuDecoder(m, cache, new DecodeKernelOptions { Threads = threads }, path);
                foreach (var kv in new[] { reference, cache })
                {
                    m.forward(tensor(a).unsqueeze(0), kv.Begin([2], a.Length));
                    m.forward(tensor(b).unsqueeze(0), kv.Begin([0], b.Length));
                }
                var logits = new float[2 * c.VocabSize];
                for (int step = 0; step < 6; step++)
                {
                    int[] tokens = [(step * 7 + 3) % c.VocabSize, (step * 5 + 1) % c.VocabSize];
                    decoder.Forward([2, 0], tokens, logits);
                    var expected = m.forward(tensor(tokens.Select(t => (long)t).ToArray()).view(2, 1), reference.Begin([2, 0], 1)).reshape(-1).data<float>().ToArray();
                    double worst = expected.Zip(logits, (e, g) => Math.Abs(e - g)).Max();
                    Assert.True(worst < 2e-5, $"{family}, {path}, {threads} threads, step {step}: max |Δ logit| {worst:E2}");
                }
                Assert.Equal(a.Length + 6, cache.Length(2));
                Assert.Equal(b.Length + 6, cache.Length(0));
            }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void PrefillOnTheKernelsEqualsLibtorchsForwardAndFillsTheCache(string family)
    {
        var c = Config(family) with { MaxPositions = 96 };
        using var m = Build(c);
        using var _ = no_grad();
        long Token(int i, int salt) => (i * 7 + salt * 13 + 1) % c.VocabSize;
        // 5 + 70 + 1 tokens. In one pass (the default rows): the GEMM products, the long prompt's attention as a block of
        // 64 rows and one of 6 (row by row). In passes of 32 rows: the long prompt spans three, its rows in the later ones
        // attending to keys an earlier pass stored. On the portable path: no GEMM, every row on its own. Last, int8: the
        // passes over q8_0 blocks (q, k and v one matrix), against libtorch on the dequantized weights it leaves in the model.
        (int Slot, int[] Tokens)[] prompts = [(2, [.. Enumerable.Range(0, 5).Select(i => (int)Token(i, 1))]),
            (0, [.. Enumerable.Range(0, 70).Select(i => (int)Token(i, 2))]), (1, [(int)Token(0, 3)])];
        foreach (var (path, threads, rows, int8) in new[] { (SimdPaths.Detect(), 1, 0, false), (SimdPaths.Detect(), 2, 0, false), (SimdPaths.Detect(), 2, 32, false),
                                                            (SimdPath.Portable, 2, 0, false), (SimdPaths.Detect(), 2, 0, true) })
        {
            using var cache = new KvCache(c, slots: 3);
            using var decoder = new LlamaCpuDecoder(m, cache, new DecodeKernelOptions { Threads = threads, Int8 = int8 }, path, prefillRows: rows > 0 ? rows : null);
            Assert.Equal(rows > 0 ? rows : LlamaCpuDecoder.PrefillRows, decoder.Capacity);
            var logits = new float[3 * c.VocabSize];
            decoder.Prefill([.. prompts.Select(p => (p.Slot, (IReadOnlyList<int>)p.Tokens))], logits);
            for (int p = 0; p < 3; p++)
            {
                Assert.Equal(prompts[p].Tokens.Length, cache.Length(prompts[p].Slot));
                var expected = m.forward(tensor(prompts[p].Tokens.Select(t => (long)t).ToArray()).unsqueeze(0))[0, -1].data<float>().ToArray();
                double worst = expected.Select((e, v) => Math.Abs(e - logits[p * c.VocabSize + v])).Max();
                Assert.True(worst < 2e-5, $"{family}, {path}, {threads} threads, passes of {decoder.Capacity}, int8 {int8}, prompt {p}: max |Δ logit| {worst:E2}");
            }
            // The keys and values it stored are what the next decode step attends to.
            var next = new float[3 * c.VocabSize];
            decoder.Forward([2, 0, 1], [4, 5, 6], next);
            for (int p = 0; p < 3; p++)
            {
                var expected = m.forward(tensor(prompts[p].Tokens.Append(4 + p).Select(t => (long)t).ToArray()).unsqueeze(0))[0, -1].data<float>().ToArray();
                double worst = expected.Select((e, v) => Math.Abs(e - next[p * c.VocabSize + v])).Max();
                // int8 decode rows round their inputs to int16 (Int8OneRowSteps… bounds that); prefill rows do not.
                Assert.True(worst < (int8 ? 2e-3 : 2e-5), $"{family}, {path}, {threads} threads, passes of {decoder.Capacity}, int8 {int8}, decode after prompt {p}: max |Δ logit| {worst:E2}");
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FiveRowsOfDifferentLengthsDecodeAsLibtorchDoes(bool int8)
    {
        // Five rows take the 4 × 4 tile path of the products (and, in int8, the rows dequantized once for all inputs).
        var c = Config("gqa");
        using var m = Build(c);
        using var _ = no_grad();
        using var reference = new KvCache(c, slots: 6);
        using var cache = new KvCache(c, slots: 6);
        using var decoder = new LlamaCpuDecoder(m, cache, new DecodeKernelOptions { Int8 = int8 });   // int8: m's weights become q·d first
        int[] slots = [5, 0, 3, 1, 4];
        foreach (var kv in new[] { reference, cache })
            for (int r = 0; r < slots.Length; r++)
                m.forward(tensor(Enumerable.Range(1, r + 2).Select(t => (long)(t * 3 % c.VocabSize)).ToArray()).unsqueeze(0), kv.Begin([slots[r]], r + 2));
        var logits = new float[slots.Length * c.VocabSize];
        for (int step = 0; step < 4; step++)
        {
            int[] tokens = [.. slots.Select(s => (s * 11 + step * 7) % c.VocabSize)];
            decoder.Forward(slots, tokens, logits);
            var expected = m.forward(tensor(tokens.Select(t => (long)t).ToArray()).view(slots.Length, 1), reference.Begin(slots, 1)).reshape(-1).data<float>().ToArray();
            double worst = expected.Zip(logits, (e, g) => Math.Abs(e - g)).Max();
            Assert.True(worst < 2e-5, $"int8 {int8}, step {step}: max |Δ logit| {worst:E2}");
        }
    }

    [Fact]
    public void Int8OneRowStepsStayWithinTheActivationRoundingOfLibtorchs()
    {
        // One and two rows in int8 take the int16-input kernel (AVX-512BW or AVX2); other CPUs the fp32-input one. Either way the
        // logits are libtorch's on the dequantized weights, up to the inputs' rounding (max|x|/65534 a value).
        var c = Config("qwen2-tied-linear");
        using var m = Build(c);
        using var _ = no_grad();
        using var reference = new KvCache(c, slots: 2);
        using var cache = new KvCache(c, slots: 2);
        using var decoder = new LlamaCpuDecoder(m, cache, new DecodeKernelOptions { Int8 = true });
        foreach (var kv in new[] { reference, cache }) m.forward(tensor(new long[] { 4, 8, 15, 16, 23 }).unsqueeze(0), kv.Begin([1], 5));
        var logits = new float[c.VocabSize];
        double worst = 0;
        for (int step = 0; step < 8; step++)
        {
            int token = (step * 13 + 5) % c.VocabSize;
            decoder.Forward([1], [token], logits);
            var expected = m.forward(tensor(new long[] { token }).view(1, 1), reference.Begin([1], 1)).reshape(-1).data<float>().ToArray();
            worst = Math.Max(worst, expected.Zip(logits, (e, g) => Math.Abs(e - g)).Max());
        }
        Assert.True(worst < 2e-3, $"max |Δ logit| {worst:E2}");
    }

    [Fact]
    public void GreedyTextThroughTheEngineEqualsLibtorchs()
    {
        var (model, tokenizer) = ModelDirectory.Load(Path.Combine(GenSharp.Tests.Cli.CliRunner.Repo(), "models", "shakespeare-char"));
        using var _ = model;
        var greedy = new GenerationOptions { Temperature = 0, MaxTokens = 60, IgnoreEos = true };
        string[] prompts = ["ROMEO:", "The king", "O, ", "First Citizen:\nWe are"];
        var kernels = new TextGenerationPipeline(model, tokenizer).GenerateBatch(prompts, greedy);
        var libtorch = new TextGenerationPipeline(model, tokenizer, kernels: new DecodeKernelOptions { Enabled = false }).GenerateBatch(prompts, greedy);
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(libtorch[i].Choices[0].Text, kernels[i].Choices[0].Text);
        using var engine = new GenerationEngine(model, tokenizer);
        Assert.StartsWith("GenSharp kernels, fp32", engine.DecodeBackend);
    }

    [Fact]
    public void Int8DecodingEqualsLibtorchOnTheDequantizedWeights()
    {
        var c = Config("gqa");
        using var m = Build(c);
        var before = m.Backbone.Layers[0].Attention.Projections.First().Projection.weight!.clone();
        var greedy = new GenerationOptions { Temperature = 0, MaxTokens = 12, IgnoreEos = true };
        var tokenizer = new GenSharp.Tokenizers.CharTokenizer(Enumerable.Range(0, c.VocabSize).Select(i => ((char)('!' + i)).ToString()));
        var int8 = new TextGenerationPipeline(m, tokenizer, kernels: new DecodeKernelOptions { Int8 = true });
        var text = int8.Generate("!#%'", greedy).Choices[0].Text;
        var after = m.Backbone.Layers[0].Attention.Projections.First().Projection.weight!;
        // The model now holds the q8_0 values: close to the originals (≤ half a step of each block's scale), not equal.
        double moved = (after - before).abs().max().item<float>(), step = before.abs().max().item<float>() / 127;
        Assert.InRange(moved, 1e-9, step / 2 * 1.01);
        var libtorch = new TextGenerationPipeline(m, tokenizer, kernels: new DecodeKernelOptions { Enabled = false }).Generate("!#%'", greedy).Choices[0].Text;
        Assert.Equal(libtorch, text);
        using var engine = new GenerationEngine(m, tokenizer, kernels: new DecodeKernelOptions { Int8 = true });
        Assert.StartsWith("GenSharp kernels, int8", engine.DecodeBackend);
    }

    [Fact]
    public void QkvEndToEndOrApartDecodeAsLibtorchDoes()
    {
        // The model allocates a layer's q, k and v end to end and AdamW's flat buffer keeps them so (read as one matrix);
        // an optimizer over Qwen2's biased projections leaves them apart (read as three ranges): both must decode right.
        var c = Config("gqa");
        using var m = Build(c);
        using var _ = no_grad();
        var attention = m.Backbone.Layers.Select(l => l.Attention.Projections.Take(3).Select(p => p.Projection).ToArray()).ToArray();
        Assert.All(attention, qkv => Assert.True(EndToEnd(qkv)));
        using (new GenSharp.Optim.AdamW(m.named_parameters().Select(p => (p.name, p.parameter)))) Assert.All(attention, qkv => Assert.True(EndToEnd(qkv)));
        foreach (bool apart in new[] { false, true })
        {
            if (apart)
                foreach (var p in attention.SelectMany(qkv => qkv)) { using var own = p.weight!.clone(); p.weight!.set_(own); }
            Assert.All(attention, qkv => Assert.Equal(!apart, EndToEnd(qkv)));
            using var reference = new KvCache(c, slots: 2);
            using var cache = new KvCache(c, slots: 2);
            using var decoder = new LlamaCpuDecoder(m, cache, new DecodeKernelOptions { Threads = 2 });
            long[] prompt = [3, 1, 4, 1, 5];
            foreach (var kv in new[] { reference, cache }) m.forward(tensor(prompt).unsqueeze(0), kv.Begin([1], prompt.Length));
            var logits = new float[c.VocabSize];
            for (int step = 0; step < 4; step++)
            {
                int token = (step * 11 + 2) % c.VocabSize;
                decoder.Forward([1], [token], logits);
                var expected = m.forward(tensor(new long[] { token }).view(1, 1), reference.Begin([1], 1)).reshape(-1).data<float>().ToArray();
                double worst = expected.Zip(logits, (e, g) => Math.Abs(e - g)).Max();
                Assert.True(worst < 2e-5, $"q/k/v {(apart ? "apart" : "end to end")}, step {step}: max |Δ logit| {worst:E2}");
            }
        }

        static unsafe bool EndToEnd(TorchSharp.Modules.Linear[] qkv) =>
            DecoderProjection.Pointer(qkv[1].weight!) == DecoderProjection.Pointer(qkv[0].weight!) + qkv[0].weight!.numel() &&
            DecoderProjection.Pointer(qkv[2].weight!) == DecoderProjection.Pointer(qkv[1].weight!) + qkv[1].weight!.numel();
    }

    [Fact]
    public void BaseRowsKeepDecodingAfterServedAdaptersReHomeTheWeights()
    {
        // The multi-LoRA bank moves the projections into one fused stack at its first adapter row (disposing the old
        // tensors): base rows decoded on the kernels before and after must read the weights where they are now.
        var c = Config("gqa");
        var tokenizer = new GenSharp.Tokenizers.CharTokenizer(Enumerable.Range(0, c.VocabSize).Select(i => ((char)('!' + i)).ToString()));
        string Run(bool kernels)
        {
            using var m = Build(c);
            var (slot, layers) = m.AddServedAdapter("a", new LoraConfig { Rank = 4 });
            var g = new Generator(17);
            using (no_grad()) foreach (var (_, layer) in layers) { layer.A.normal_(0, 0.5, g); layer.B.normal_(0, 0.5, g); }
            using var engine = new GenerationEngine(m, tokenizer, 2, kernels: new DecodeKernelOptions { Enabled = kernels });
            var greedy = new GenerationOptions { Temperature = 0, MaxTokens = 12, IgnoreEos = true };
            var baseRow = engine.Add(engine.EncodePrompt("!#%'"), greedy)[0];
            for (int i = 0; i < 3; i++) engine.Step();                                   // base alone: the kernels
            var adapted = engine.Add(engine.EncodePrompt("')+"), greedy with { MaxTokens = 3 }, slot)[0];
            while (engine.HasWork) engine.Step();                                        // mixed (libtorch, fusing), then base alone again
            return baseRow.Text + "|" + adapted.Text;
        }
        Assert.Equal(Run(kernels: false), Run(kernels: true));
    }

    [Fact]
    public void AnAttachedAdapterFallsBackToLibtorch()
    {
        var c = Config("mha");
        using var m = Build(c);
        var tokenizer = new GenSharp.Tokenizers.CharTokenizer(Enumerable.Range(0, c.VocabSize).Select(i => ((char)('!' + i)).ToString()));
        var greedy = new GenerationOptions { Temperature = 0, MaxTokens = 10, IgnoreEos = true };
        foreach (var (_, layer) in m.AttachLora(new LoraConfig { Rank = 4 }, seed: 1))
            using (no_grad()) layer.B.normal_(0, 0.5);                                    // an adapter that changes the outputs
        var adapted = new TextGenerationPipeline(m, tokenizer).Generate("!#%", greedy).Choices[0].Text;
        var libtorch = new TextGenerationPipeline(m, tokenizer, kernels: new DecodeKernelOptions { Enabled = false }).Generate("!#%", greedy).Choices[0].Text;
        Assert.Equal(libtorch, adapted);
        Assert.Contains("LoRA", LlamaCpuDecoder.Unsupported(m));
        Assert.Contains("cannot run this model", Assert.Throws<ArgumentException>(() => new GenerationEngine(m, tokenizer, kernels: new DecodeKernelOptions { Int8 = true })).Message);
    }
}
