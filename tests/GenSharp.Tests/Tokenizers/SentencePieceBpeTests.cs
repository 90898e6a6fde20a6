using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;

namespace GenSharp.Tests.Tokenizers;

/// <summary>
/// SentencePiece-style BPE (Llama 2, Mistral) against Google's own SentencePiece: a BPE model trained by spm_train with
/// Llama 2's settings (byte fallback, split digits, dummy prefix; bench/reference/spm_fixture.sh) is written as the hub's
/// tokenizer.json in both forms (the legacy '▁' normalizer and the Metaspace pre-tokenizer), and GenSharp must give the ids
/// spm_encode gave for every sample: Shakespeare, digits, runs of spaces and tabs, accents, CJK and an emoji (bytes).
/// </summary>
public sealed class SentencePieceBpeTests : TempDirectoryTest
{
    static readonly string Fixture = Path.Combine(CliRunner.Repo(), "tests", "GenSharp.Tests", "Tokenizers", "Fixtures", "spm");

    /// <summary>
    /// tokenizer.json as transformers' converter writes it from a SentencePiece BPE model: the pieces in id order, merges
    /// of every piece split into two pieces, ranked by the merged piece's score (its line in the .vocab file).
    /// </summary>
    internal static string WriteTokenizerJson(string dir, bool metaspace)
    {
        var pieces = File.ReadLines(Path.Combine(Fixture, "spm.vocab")).Select(l => l.Split('\t')[0]).ToList();
        var ids = pieces.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i);
        var merges = new JsonArray();
        foreach (var piece in pieces.Where(p => !p.StartsWith('<')))
            foreach (var (l, r) in Enumerable.Range(1, piece.Length - 1).Select(k => (piece[..k], piece[k..]))
                         .Where(s => ids.ContainsKey(s.Item1) && ids.ContainsKey(s.Item2)).OrderBy(s => ids[s.Item1]).ThenBy(s => ids[s.Item2]))
                merges.Add($"{l} {r}");
        var vocab = new JsonObject();
        foreach (var (p, i) in ids) vocab[p] = i;
        var added = new JsonArray();
        foreach (var (content, id) in new[] { ("<unk>", 0), ("<s>", 1), ("</s>", 2) })
            added.Add(new JsonObject { ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true });
        const string space = "\u2581";
        var root = new JsonObject
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null, ["added_tokens"] = added,
            ["normalizer"] = metaspace ? null : new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "Prepend", ["prepend"] = space },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = space }),
            },
            ["pre_tokenizer"] = metaspace ? new JsonObject { ["type"] = "Metaspace", ["replacement"] = space, ["prepend_scheme"] = "first", ["split"] = false } : null,
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "Sequence", ["decoders"] = new JsonArray(new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" }) },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = "<unk>", ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true, ["byte_fallback"] = true, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, root.ToJsonString());
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EncodesEverySampleAsSentencePieceDoes(bool metaspace)
    {
        var tokenizer = Assert.IsType<SentencePieceBpeTokenizer>(TokenizerJson.Load(WriteTokenizerJson(Path.Combine(_dir, "t"), metaspace)));
        var samples = File.ReadAllLines(Path.Combine(Fixture, "samples.txt"));
        var expected = File.ReadAllLines(Path.Combine(Fixture, "expected.ids"));
        Assert.Equal(samples.Length, expected.Length);
        Assert.True(samples.Length >= 30);
        for (int i = 0; i < samples.Length; i++)
        {
            var ids = tokenizer.Encode(samples[i]);
            Assert.True(expected[i] == string.Join(" ", ids), $"line {i + 1} '{samples[i]}': spm {expected[i]}, ours {string.Join(" ", ids)}");
            Assert.Equal(" " + samples[i], Encoding.UTF8.GetString(tokenizer.DecodeBytes(ids)));   // the dummy prefix's space, then the text
        }
        Assert.Contains(tokenizer.Encode("😀"), id => tokenizer.Tokens[id] == "<0xF0>");            // not in the vocabulary: its bytes
    }

    [Fact]
    public void SpecialTokensSplitTheTextAndEachFormPrefixesAsTheHubDoes()
    {
        var legacy = TokenizerJson.Load(WriteTokenizerJson(Path.Combine(_dir, "legacy"), metaspace: false));
        var metaspace = TokenizerJson.Load(WriteTokenizerJson(Path.Combine(_dir, "metaspace"), metaspace: true));
        string Text(ITokenizer t, IEnumerable<int> ids) => Encoding.UTF8.GetString(t.DecodeBytes(ids));
        // Legacy (Prepend normalizer): every stretch between special tokens gets the '▁'; Metaspace "first": only a stretch at
        // the very start of the text (tokenizers checks its offset is 0), so none here, after <s>.
        var a = legacy.Encode("<s>the king</s>the queen");
        var b = metaspace.Encode("<s>the king</s>the queen");
        Assert.Equal(1, a[0]);
        Assert.Equal(" the king", Text(legacy, a[1..Array.IndexOf(a, 2)]));
        Assert.Equal(" the queen", Text(legacy, a[(Array.IndexOf(a, 2) + 1)..]));
        Assert.Equal("the queen", Text(metaspace, b[(Array.IndexOf(b, 2) + 1)..]));
        Assert.Equal("the king", Text(metaspace, b[1..Array.IndexOf(b, 2)]));
        Assert.Equal(" the king", Text(metaspace, metaspace.Encode("the king")));
        // Saved and loaded again: the same file, the same ids.
        var path = Path.Combine(_dir, "saved.json");
        metaspace.Save(path);
        Assert.Equal(b, TokenizerJson.Load(path).Encode("<s>the king</s>the queen"));
        // A whole document is one stretch of merges (no pre-split): it still encodes in one pass.
        var play = File.ReadAllText(Path.Combine(CliRunner.Repo(), "data", "tinyshakespeare.txt"))[..200_000];
        Assert.Equal(" " + play, Text(legacy, legacy.Encode(play)));
    }

    [Fact]
    public void APostProcessorsBosStartsEveryPromptOnce()
    {
        var path = WriteTokenizerJson(Path.Combine(_dir, "bos"), metaspace: false);
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        root["post_processor"] = TokenizerJson.PrefixProcessor(["<s>"], [1]);   // Llama 2's: <s> $A (and <s> $A <s> $B)
        File.WriteAllText(path, root.ToJsonString());
        var tokenizer = TokenizerJson.Load(path);
        Assert.Equal([1], tokenizer.PromptPrefix);
        var text = tokenizer.Encode("the king");
        Assert.DoesNotContain(1, text);                                                        // Encode: no special tokens added
        Assert.Equal([1, .. text], GenSharp.Sampling.GenerationEngine.EncodePrompt(tokenizer, "the king", 4096));
        Assert.Equal(tokenizer.Encode("<s>the king"), GenSharp.Sampling.GenerationEngine.EncodePrompt(tokenizer, "<s>the king", 4096));   // not twice
        // A byte-level BPE with Llama 3's form (Sequence of ByteLevel and TemplateProcessing) keeps it through Save and Load.
        var bpe = new BpeTrainer(300, ["<|begin_of_text|>"]).Train(File.ReadAllText(Path.Combine(CliRunner.Repo(), "data", "tinyshakespeare.txt"))[..20_000]);
        var bpePath = Path.Combine(_dir, "bpe.json");
        bpe.Save(bpePath);
        var bpeRoot = JsonNode.Parse(File.ReadAllText(bpePath))!.AsObject();
        int bos = bpe.SpecialTokens["<|begin_of_text|>"];
        bpeRoot["post_processor"] = new JsonObject { ["type"] = "Sequence", ["processors"] = new JsonArray(
            new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            TokenizerJson.PrefixProcessor(["<|begin_of_text|>"], [bos])) };
        File.WriteAllText(bpePath, bpeRoot.ToJsonString());
        var loaded = TokenizerJson.Load(bpePath);
        loaded.Save(bpePath);
        Assert.Equal([bos], TokenizerJson.Load(bpePath).PromptPrefix);
        // Tokens after the text (an EOS suffix) are refused by name.
        root["post_processor"]!["single"]!.AsArray().Add(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } });
        File.WriteAllText(path, root.ToJsonString());
        Assert.Contains("adds '<s>' after the text", Assert.Throws<TokenizerFormatException>(() => TokenizerJson.Load(path)).Message);
    }

    [Fact]
    public void FilesOfAnotherFormAreRefusedByName()
    {
        var path = WriteTokenizerJson(Path.Combine(_dir, "bad"), metaspace: true);
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        root["pre_tokenizer"]!["prepend_scheme"] = "sometimes";
        File.WriteAllText(path, root.ToJsonString());
        Assert.Contains("Metaspace prepend_scheme 'sometimes' is not supported", Assert.Throws<TokenizerFormatException>(() => TokenizerJson.Load(path)).Message);
        root["pre_tokenizer"] = null;
        File.WriteAllText(path, root.ToJsonString());
        Assert.Contains("byte_fallback without the '▁' normalizer or a Metaspace pre-tokenizer", Assert.Throws<TokenizerFormatException>(() => TokenizerJson.Load(path)).Message);
        root["normalizer"] = new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "\u2581" };
        root["model"]!["unk_token"] = "<nope>";
        File.WriteAllText(path, root.ToJsonString());
        Assert.Contains("unk_token '<nope>' is not in the vocabulary", Assert.Throws<TokenizerFormatException>(() => TokenizerJson.Load(path)).Message);
    }
}
