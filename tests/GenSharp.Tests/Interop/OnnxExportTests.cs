using GenSharp.Interop;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tests.Cli;
using GenSharp.Tests.Models;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace GenSharp.Tests.Interop;

/// <summary>
/// Our ONNX files in a real ONNX Runtime: the decoder with past key/values gives GenSharp's logits at every prompt position
/// and every cached decode step, and its greedy tokens — for each family (llama, mistral, qwen2 with biases, tied, rope
/// scaling), for left-padded batches, with weights inline or external; the U-Net gives GenSharp's noise predictions.
/// </summary>
public sealed class OnnxExportTests : TempDirectoryTest
{
    const double Tolerance = 1e-4;

    public static TheoryData<string, bool, string?> Families => new()
    {
        { "llama", false, null }, { "mistral", false, "linear" }, { "qwen2", true, "llama3" },
    };

    [Theory, MemberData(nameof(Families))]
    public void TheDecoderWithPastKeyValuesMatchesGenSharpStepByStep(string family, bool tied, string? rope)
    {
        var scaling = GenSharp.Tests.Models.HfFixtures.Scaling(rope);
        var dir = Path.Combine(_dir, family);
        using var model = HfFixtures.Write(dir, family, "f32", tied: tied, ropeScaling: scaling);
        var (_, tokenizer) = ModelDirectory.Load(dir);
        var result = OnnxExport.Export(dir, Path.Combine(_dir, "onnx"));
        Assert.False(result.ExternalData);
        using var ort = new OnnxDecoder(result.ModelFile);
        foreach (var prompt in new[] { "ROMEO:\nBut soft", "It is the east, and Juliet is the sun." })
        {
            var ids = tokenizer.Encode(prompt);
            // Every prompt position's logits from one prefill call.
            var (all, vocab, presents) = ort.Step(Row(ids), Row(ids.Select(_ => 1L)), Row(ids.Select((_, i) => (long)i)), null);
            foreach (var p in presents) p.Dispose();
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var expected = model.forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))[0].data<float>().ToArray();
                Assert.Equal(ids.Length * vocab, all.Length);
                double prefill = expected.Zip(all, (a, b) => Math.Abs(a - b)).Max();
                Assert.True(prefill < Tolerance, $"{family}: prefill max |Δ logit| {prefill}");
            }
            // Decode steps with the cache: each step's logits against the whole sequence run again, and the same greedy tokens.
            var (_, greedy, steps) = ort.Run(ids, 12);
            Assert.Equal(LlamaCpp.Greedy(model, ids, 12), greedy);
            for (int s = 0; s < steps.Count; s++)
            {
                var reference = LlamaCpp.Logits(model, [.. ids, .. greedy[..(s + 1)]]);
                double delta = reference.Zip(steps[s], (a, b) => Math.Abs(a - b)).Max();
                Assert.True(delta < Tolerance, $"{family}: step {s} max |Δ logit| {delta}");
            }
        }
    }

    [Fact]
    public void ALeftPaddedBatchGivesEachRowItsOwnLogitsAndExternalWeightsLoadTheSame()
    {
        var dir = Path.Combine(_dir, "llama");
        using var model = HfFixtures.Write(dir, "llama", "f32");
        var (_, tokenizer) = ModelDirectory.Load(dir);
        var inline = OnnxExport.Export(dir, Path.Combine(_dir, "inline"), externalData: false);
        var external = OnnxExport.Export(dir, Path.Combine(_dir, "external"), externalData: true);
        Assert.True(external.ExternalData);
        Assert.True(new FileInfo(external.ModelFile).Length < 64 << 10, "the graph without its weights");
        Assert.True(new FileInfo(external.ModelFile + ".data").Length >= external.WeightBytes - (64 << 10));

        int[] a = tokenizer.Encode("But soft, what light"), b = tokenizer.Encode("Juliet");
        int n = a.Length, pad = n - b.Length;
        var ids = new long[2, n];
        var mask = new long[2, n];
        var positions = new long[2, n];
        for (int i = 0; i < n; i++)
        {
            (ids[0, i], mask[0, i], positions[0, i]) = (a[i], 1, i);
            (ids[1, i], mask[1, i], positions[1, i]) = i < pad ? (0L, 0L, 0L) : (b[i - pad], 1L, i - pad);   // left padding
        }
        float[]? first = null;
        foreach (var export in new[] { inline, external })
        {
            using var ort = new OnnxDecoder(export.ModelFile);
            var (logits, vocab, presents) = ort.Step(ids, mask, positions, null);
            foreach (var p in presents) p.Dispose();
            int v = (int)vocab;
            foreach (var (row, prompt) in new[] { (0, a), (1, b) })
            {
                var last = logits[((row * n + n - 1) * v)..((row * n + n) * v)];
                double delta = LlamaCpp.Logits(model, prompt).Zip(last, (x, y) => Math.Abs(x - y)).Max();
                Assert.True(delta < Tolerance, $"row {row}: max |Δ logit| {delta}");
            }
            if (first is null) first = logits;
            else Assert.Equal(first, logits);   // the same graph and weights, wherever the weights are stored
        }
    }

    [Fact]
    public void OnnxRuntimeGenAIRunsTheExportedDirectoryAsItIs()
    {
        // A byte-level BPE model with an end-of-sequence token: GenAI's tokenizer reads tokenizer.json as GenSharp does, and its
        // greedy search (genai_config.json) gives GenSharp's tokens and stops where GenSharp's would.
        var text = File.ReadAllText(Path.Combine(CliRunner.Repo(), "data", "tinyshakespeare.txt"))[..40_000];
        var tokenizer = new GenSharp.Tokenizers.BpeTrainer(300, ["<|endoftext|>"]).Train(text);
        manual_seed(11);
        var config = new LlamaConfig { VocabSize = tokenizer.VocabSize, HiddenSize = 64, IntermediateSize = 96, NumLayers = 2, NumHeads = 4, NumKvHeads = 2,
                                       MaxPositions = 64, InitializerRange = 0.2, EosTokenId = tokenizer.SpecialTokens["<|endoftext|>"] };
        var dir = Path.Combine(_dir, "bpe");
        using (var fresh = new LlamaForCausalLM(config)) ModelDirectory.Save(dir, fresh, tokenizer);
        var (model, _) = ModelDirectory.Load(dir);
        using var __ = model;
        var export = OnnxExport.Export(dir, Path.Combine(_dir, "bpe-onnx"));
        using var genai = new Microsoft.ML.OnnxRuntimeGenAI.Model(Path.GetDirectoryName(export.ModelFile)!);
        using var genaiTokenizer = new Microsoft.ML.OnnxRuntimeGenAI.Tokenizer(genai);
        foreach (var prompt in new[] { "ROMEO:\nWhat light", "First Citizen: we'll see 12 cats." })
        {
            var ids = tokenizer.Encode(prompt);
            Assert.Equal(ids, genaiTokenizer.Encode(prompt)[0].ToArray());
            using var search = new Microsoft.ML.OnnxRuntimeGenAI.GeneratorParams(genai);
            using var generator = new Microsoft.ML.OnnxRuntimeGenAI.Generator(genai, search);
            generator.AppendTokens(ids);
            while (!generator.IsDone()) generator.GenerateNextToken();
            var generated = generator.GetSequence(0).ToArray()[ids.Length..];
            var ours = LlamaCpp.Greedy(model, ids, config.MaxPositions - ids.Length);
            int eos = Array.IndexOf(ours, config.EosTokenId!.Value);
            Assert.Equal(eos < 0 ? ours : ours[..(eos + 1)], generated);
            Assert.Equal(prompt, System.Text.Encoding.UTF8.GetString(tokenizer.DecodeBytes(ids)));
            Assert.Equal(prompt, genaiTokenizer.Decode(ids));
        }
    }

    [Fact]
    public void TheUNetPredictsTheSameNoise()
    {
        var config = new UNetConfig { ImageSize = 16, BaseChannels = 16, ChannelMults = [1, 2], NumClasses = 3, Groups = 4, Dropout = 0 };
        manual_seed(5);
        using var unet = new UNet(config);
        using (no_grad())
            foreach (var p in unet.parameters()) p.normal_(0, 0.2);   // conv_out starts at zero; every path must matter
        unet.eval();
        var dir = Path.Combine(_dir, "unet");
        new DiffusionPipeline(unet, new GenSharp.Schedulers.NoiseSchedule("linear", 1000)).Save(dir);
        var result = OnnxExport.Export(dir, Path.Combine(_dir, "unet-onnx"));
        Assert.Equal("diffusion U-Net", result.Kind);
        Assert.True(File.Exists(Path.Combine(_dir, "unet-onnx", DiffusionPipeline.SchedulerFile)));

        using var session = new InferenceSession(result.ModelFile);
        var x = randn(3, 1, 16, 16);
        var t = tensor(new long[] { 0, 417, 999 });
        var y = tensor(new long[] { 2, 0, 3 });                                   // 3 = no class (guidance's unconditional branch)
        using var inputs = new DisposableList
        {
            ["sample"] = OrtValue.CreateTensorValueFromMemory(x.data<float>().ToArray(), [3, 1, 16, 16]),
            ["timestep"] = OrtValue.CreateTensorValueFromMemory(t.data<long>().ToArray(), [3]),
            ["class_labels"] = OrtValue.CreateTensorValueFromMemory(y.data<long>().ToArray(), [3]),
        };
        using var run = new RunOptions();
        using var outputs = session.Run(run, inputs, ["noise_pred"]);
        float[] expected;
        using (no_grad()) expected = unet.forward(x, t, y).data<float>().ToArray();
        var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        double delta = expected.Zip(actual, (p, q) => Math.Abs(p - q)).Max();
        Assert.True(delta < Tolerance && expected.Max(Math.Abs) > 0.1, $"max |Δ| {delta} (largest output {expected.Max(Math.Abs)})");
    }

    [Fact]
    public void TheCommandLineExportsTheBundledModelAndRefusesOtherKinds()
    {
        var (code, output, err) = CliRunner.Run(null, "export", "--model", "models/shakespeare-char", "--format", "onnx", "--out", Path.Combine(_dir, "onnx"));
        Assert.True(code == 0, err);
        Assert.Contains("llama decoder with past key/values", output);
        Assert.True(File.Exists(Path.Combine(_dir, "onnx", "tokenizer.json")));

        var vae = Path.Combine(_dir, "vae");
        Directory.CreateDirectory(vae);
        File.WriteAllText(Path.Combine(vae, "config.json"), $$"""{"model_type": "{{VaeConfig.Type}}"}""");
        (code, _, err) = CliRunner.Run(null, "export", "--model", vae, "--format", "onnx", "--out", Path.Combine(_dir, "x"));
        Assert.Equal(1, code);
        Assert.Contains("ONNX export covers language models (llama, mistral, qwen2) and the diffusion U-Net", err);
        (code, _, err) = CliRunner.Run(null, "export", "--model", "models/shakespeare-char", "--format", "onnx", "--external-data", "maybe", "--out", Path.Combine(_dir, "x"));
        Assert.Equal(1, code);
        Assert.Contains("--external-data must be auto, always or never", err);
    }

    static long[,] Row(IEnumerable<long> values)
    {
        var v = values.ToArray();
        var row = new long[1, v.Length];
        for (int i = 0; i < v.Length; i++) row[0, i] = v[i];
        return row;
    }

    static long[,] Row(IEnumerable<int> values) => Row(values.Select(i => (long)i));

    sealed class DisposableList : Dictionary<string, OrtValue>, IDisposable
    {
        public void Dispose() { foreach (var v in Values) v.Dispose(); }
    }
}
