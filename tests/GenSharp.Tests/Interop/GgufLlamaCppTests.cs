using GenSharp.Interop;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Interop;

/// <summary>
/// Our GGUF files in a real llama.cpp: the same tokens from its tokenizer, the same logits within tolerance, the same
/// greedy continuation — for the bundled character model (f32, f16, q8_0) and for a byte-level BPE model with grouped-query
/// attention; and GGUF read back into GenSharp.
/// </summary>
public sealed class GgufLlamaCppTests : TempDirectoryTest
{
    static readonly string[] Prompts = ["ROMEO:\nWhat light", "First Citizen:\nWe are accounted poor citizens", "\n\nKING HENRY VI:\n"];

    [Fact]
    public void TheBundledModelRunsInLlamaCppWithTheSameTokensLogitsAndGreedyText()
    {
        var dir = Path.Combine(CliRunner.Repo(), "models", "shakespeare-char");
        var (model, tokenizer) = ModelDirectory.Load(dir);
        using var _ = model;
        foreach (var (type, tolerance) in new[] { ("f32", 1e-4), ("f16", 5e-3), ("q8_0", 0.15) })
        {
            var path = Path.Combine(_dir, $"model-{type}.gguf");
            LlamaGguf.Export(dir, path, type);
            using var cpp = new LlamaCpp(path);
            // q8_0 is compared with the same weights read back into GenSharp (decoded), so only the arithmetic differs.
            var reference = model;
            using var imported = type == "q8_0" ? ModelDirectory.Load(ImportTo(path)).Model : null;
            if (imported is not null) reference = imported;
            foreach (var prompt in Prompts)
            {
                var ids = tokenizer.Encode(prompt);
                Assert.Equal(ids, cpp.Tokenize(prompt));
                var (logits, greedy) = cpp.Run(ids, 24);
                double delta = LlamaCpp.Logits(reference, ids).Zip(logits, (a, b) => Math.Abs(a - b)).Max();
                Assert.True(delta < tolerance, $"{type}: max |Δ logit| {delta} for '{prompt}'");
                if (type != "q8_0") Assert.Equal(LlamaCpp.Greedy(reference, ids, 24), greedy);   // q8_0: llama.cpp quantizes activations too
            }
        }
    }

    public static TheoryData<string, bool, string?> Families => new()
    {
        { "llama", false, "llama3" }, { "mistral", false, "linear" }, { "qwen2", true, null },
    };

    [Theory, MemberData(nameof(Families))]
    public void HubFamiliesAndRopeScalingsRunInLlamaCppAndComeBack(string family, bool tied, string? rope)
    {
        var scaling = GenSharp.Tests.Models.HfFixtures.Scaling(rope);
        var dir = Path.Combine(_dir, family);
        using var model = GenSharp.Tests.Models.HfFixtures.Write(dir, family, "f32", tied: tied, ropeScaling: scaling);
        var (_, tokenizer) = ModelDirectory.Load(dir);
        var path = Path.Combine(_dir, $"{family}.gguf");
        LlamaGguf.Export(dir, path);
        using (var cpp = new LlamaCpp(path))
            foreach (var prompt in new[] { "ROMEO:\nBut soft", "It is the east, and Juliet is the sun. " })
            {
                var ids = tokenizer.Encode(prompt);
                Assert.Equal(ids, cpp.Tokenize(prompt));
                var (logits, greedy) = cpp.Run(ids, 24);   // 24 steps: positions past the llama3 fixture's original context of 64
                double delta = LlamaCpp.Logits(model, ids).Zip(logits, (a, b) => Math.Abs(a - b)).Max();
                Assert.True(delta < 1e-4, $"{family}: max |Δ logit| {delta} for '{prompt}'");
                Assert.Equal(LlamaCpp.Greedy(model, ids, 24), greedy);
            }
        var (back, _) = ModelDirectory.Load(ImportTo(path));
        using var __ = back;
        Assert.Equal((family == "qwen2" ? "qwen2" : "llama", family == "qwen2", scaling), (back.Config.ModelType, back.Config.QkvBias, back.Config.RopeScaling));
        foreach (var (name, t) in back.state_dict()) Assert.True(t.equal(model.state_dict()[name]).all().item<bool>(), name);
    }

    [Fact]
    public void ASentencePieceModelRunsInLlamaCppWithItsTokensAndComesBack()
    {
        // Google's SentencePiece BPE (the spm fixture) in llama.cpp's "llama" tokenizer model: same ids on every sample
        // (byte fallback, digits, runs of spaces, CJK, emoji), same logits and greedy tokens, the same tokenizer on import.
        var json = GenSharp.Tests.Tokenizers.SentencePieceBpeTests.WriteTokenizerJson(Path.Combine(_dir, "spm-tok"), metaspace: false);
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(json))!.AsObject();
        root["post_processor"] = TokenizerJson.PrefixProcessor(["<s>"], [1]);   // Llama 2's BOS
        File.WriteAllText(json, root.ToJsonString());
        var tokenizer = TokenizerJson.Load(json);
        manual_seed(5);
        var config = new LlamaConfig { VocabSize = tokenizer.VocabSize, HiddenSize = 64, IntermediateSize = 96, NumLayers = 2, NumHeads = 4, NumKvHeads = 2,
                                       MaxPositions = 256, InitializerRange = 0.2, BosTokenId = 1, EosTokenId = 2 };
        var dir = Path.Combine(_dir, "spm");
        using (var fresh = new LlamaForCausalLM(config)) ModelDirectory.Save(dir, fresh, tokenizer);
        var (model, _) = ModelDirectory.Load(dir);
        using var __ = model;
        var path = Path.Combine(_dir, "spm.gguf");
        LlamaGguf.Export(dir, path);
        var samples = File.ReadAllLines(Path.Combine(CliRunner.Repo(), "tests", "GenSharp.Tests", "Tokenizers", "Fixtures", "spm", "samples.txt"));
        var (back, backTokenizer) = ModelDirectory.Load(ImportTo(path));
        using var ___ = back;
        Assert.Equal([1], backTokenizer.PromptPrefix);
        using var cpp = new LlamaCpp(path);
        foreach (var sample in samples.Append("<s>the king</s>the queen"))
        {
            var ids = tokenizer.Encode(sample);
            Assert.Equal(ids, cpp.Tokenize(sample));
            Assert.Equal(ids, backTokenizer.Encode(sample));
        }
        var prompt = tokenizer.Encode("ROMEO:\nBut soft, what light");
        var (logits, greedy) = cpp.Run(prompt, 12);
        double delta = LlamaCpp.Logits(model, prompt).Zip(logits, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(delta < 2e-4, $"max |Δ logit| {delta}");
        Assert.Equal(LlamaCpp.Greedy(model, prompt, 12), greedy);
    }

    string ImportTo(string gguf)
    {
        var dir = Path.Combine(_dir, Path.GetFileNameWithoutExtension(gguf));
        LlamaGguf.Import(gguf, dir);
        return dir;
    }

    [Fact]
    public void AByteLevelBpeModelWithGroupedQueryAttentionSurvivesTheTrip()
    {
        var text = File.ReadAllText(Path.Combine(CliRunner.Repo(), "data", "tinyshakespeare.txt"))[..60_000] + " 2024 12345 café naïve 😀 tabs\tand   spaces";
        var tokenizer = new BpeTrainer(400, ["<|endoftext|>"]).Train(text);
        manual_seed(3);
        var config = new LlamaConfig { VocabSize = tokenizer.VocabSize, HiddenSize = 64, IntermediateSize = 96, NumLayers = 2, NumHeads = 4, NumKvHeads = 2,
                                       MaxPositions = 128, InitializerRange = 0.2, EosTokenId = tokenizer.SpecialTokens["<|endoftext|>"] };
        var dir = Path.Combine(_dir, "bpe");
        const string jinja = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), $$"""{"chat_template": {{System.Text.Json.JsonSerializer.Serialize(jinja)}}, "eos_token": "<|endoftext|>"}""");
        using (var fresh = new LlamaForCausalLM(config)) ModelDirectory.Save(dir, fresh, tokenizer);
        Assert.Equal(jinja, ChatTemplate.Load(dir).Jinja);                                // the checkpoint's template is kept, not replaced
        var (model, _) = ModelDirectory.Load(dir);
        using var __ = model;
        var path = Path.Combine(_dir, "bpe.gguf");
        LlamaGguf.Export(dir, path);
        using var cpp = new LlamaCpp(path);
        // The GPT-2 pre-tokenizer's cases: contractions, digit runs, runs of spaces and tabs, accents, an emoji (4 bytes), a special token.
        foreach (var prompt in new[] { "It's 2024: we'll see 12345 cafés.", "  two  spaces\tand\ta tab\n\n", "naïve 😀 emoji<|endoftext|>First" })
        {
            var ids = tokenizer.Encode(prompt);
            Assert.Equal(ids, cpp.Tokenize(prompt));
            var (logits, greedy) = cpp.Run(ids, 12);
            double delta = LlamaCpp.Logits(model, ids).Zip(logits, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(delta < 2e-4, $"max |Δ logit| {delta} for '{prompt}'");
            Assert.Equal(LlamaCpp.Greedy(model, ids, 12), greedy);
        }
        // Back into GenSharp: the f32 weights bit for bit (q/k rows permuted back), the same tokenizer and config.
        var back = ImportTo(path);
        var (again, againTokenizer) = ModelDirectory.Load(back);
        using var ___ = again;
        Assert.Equal(config with { HiddenDropout = 0 }, again.Config with { HiddenDropout = 0, InitializerRange = 0.2 });
        var original = model.state_dict();
        foreach (var (name, t) in again.state_dict()) Assert.True(t.equal(original[name]).all().item<bool>(), name);
        Assert.Equal(tokenizer.Encode(text[..2000]), againTokenizer.Encode(text[..2000]));
        Assert.IsType<ByteLevelBpeTokenizer>(againTokenizer);
        // The chat template travels in the GGUF file (tokenizer.chat_template) and back, with the EOS text it uses.
        Assert.Equal(jinja, GenSharp.IO.GgufFile.Read(path).Get<string>("tokenizer.chat_template"));
        var template = ChatTemplate.Load(back);
        Assert.Equal(jinja, template.Jinja);
        Assert.Equal("<|user|>Hi<|endoftext|><|assistant|>", template.Render([new ChatMessage("user", "Hi")]));
    }

    [Theory]
    [InlineData("llama-bpe")]
    [InlineData("qwen2")]
    public void Llama3AndQwen2PreTokenizersTokenizeAsLlamaCppDoes(string family)
    {
        var text = File.ReadAllText(Path.Combine(CliRunner.Repo(), "data", "tinyshakespeare.txt"))[..60_000];
        var trained = new BpeTrainer(600, ["<|endoftext|>"]).Train(text);
        var splitter = PreTokenizer.FromLlamaCppName(family)!;
        var tokenizer = new ByteLevelBpeTokenizer(trained.Tokens, trained.MergeList, trained.SpecialTokens, splitter, ignoreMerges: family == "llama-bpe");
        var config = new LlamaConfig { VocabSize = tokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumLayers = 1, NumHeads = 2, NumKvHeads = 2, MaxPositions = 256 };
        var dir = Path.Combine(_dir, family);
        using (var fresh = new LlamaForCausalLM(config)) ModelDirectory.Save(dir, fresh, tokenizer);
        var path = Path.Combine(_dir, $"{family}.gguf");
        LlamaGguf.Export(dir, path);
        using var cpp = new LlamaCpp(path);
        string[] samples =
        [
            "It's 2024: I'M here, we'll see 1234567 citizens.", "x +=\n     y\n\n\tz", "  leading spaces and trailing   ",
            "Grüße 世界 😀! café naïve", "ROMEO:\nBut soft, what light through yonder window breaks?<|endoftext|>JULIET:", text[1000..2500],
        ];
        foreach (var sample in samples) Assert.Equal(tokenizer.Encode(sample), cpp.Tokenize(sample));
        var back = Assert.IsType<ByteLevelBpeTokenizer>(ModelDirectory.Load(ImportTo(path)).Tokenizer);
        Assert.Same(splitter, back.Splitter);
        Assert.Equal(tokenizer.Encode(text[..5000]), back.Encode(text[..5000]));
    }

    [Fact]
    public void TheCommandLineExportsAndImportsAndExplainsBadFiles()
    {
        var gguf = Path.Combine(_dir, "m.gguf");
        var (code, output, err) = CliRunner.Run(null, "export", "--model", "models/shakespeare-char", "--type", "q8_0", "--out", gguf);
        Assert.True(code == 0, err);
        Assert.Contains("57 tensors", output);
        (code, output, err) = CliRunner.Run(null, "import", gguf, "--out", Path.Combine(_dir, "imported"));
        Assert.True(code == 0, err);
        Assert.Contains("CharTokenizer", output);
        (code, output, err) = CliRunner.Run(null, "generate", "--model", Path.Combine(_dir, "imported"), "--prompt", "ROMEO:", "--max-tokens", "8", "--temperature", "0");
        Assert.True(code == 0, err);
        (code, _, err) = CliRunner.Run(null, "export", "--model", "models/shakespeare-char", "--type", "q4_k", "--out", gguf);
        Assert.Equal(1, code);
        Assert.Contains("--type must be one of f32, f16, q8_0", err);
        File.WriteAllBytes(Path.Combine(_dir, "half.gguf"), File.ReadAllBytes(gguf)[..5000]);
        (code, _, err) = CliRunner.Run(null, "import", Path.Combine(_dir, "half.gguf"), "--out", Path.Combine(_dir, "x"));
        Assert.Equal(1, code);
        Assert.Contains("half.gguf: not a valid GGUF file", err);
        Assert.False(Directory.Exists(Path.Combine(_dir, "x", "model.safetensors")));
    }
}
