using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Tokenizers;

namespace GenSharp.Tests.Tokenizers;

public sealed class TokenizerTests : TempDirectoryTest
{
    const string Corpus = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" +
                          "Emoji 😀👍🏽 and CJK 你好世界, accents é è ü, tabs\tand  double  spaces. It's we'll they've.\n";

    public static TheoryData<string> Texts() => new()
    {
        "", "hello world", "  leading and trailing  ", "😀👍🏽🇯🇵", "日本語のテキスト、中文字符", "mixed 😀 text 你好 é\n\n\ttab",
        "'s 're 've ''' \"quotes\"", "<|endoftext|>between<|endoftext|>", "\u0000\u0001 control \u007f", new string('a', 500),
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void ByteLevelBpeRoundTripsExactly(string text)
    {
        var tok = new BpeTrainer(300, ["<|endoftext|>"]).Train(Corpus);
        Assert.Equal(text, tok.Decode(tok.Encode(text)));
    }

    [Fact]
    public void InvalidUtf16BecomesReplacementCharacterLikeUtf8()
    {
        var tok = new BpeTrainer(300).Train(Corpus);
        var text = "ok \uD800 lone high, lone low \uDC00 end";
        var decoded = tok.Decode(tok.Encode(text));
        Assert.Equal(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)), decoded);
        Assert.Contains('\uFFFD', decoded);
    }

    [Fact]
    public void SpecialTokensEncodeToTheirOwnId()
    {
        var tok = new BpeTrainer(280, ["<|endoftext|>"]).Train(Corpus);
        var ids = tok.Encode("a<|endoftext|>b");
        Assert.Equal(tok.SpecialTokens["<|endoftext|>"], ids[1]);
        Assert.Equal(3, ids.Length);
        Assert.Equal(279, tok.SpecialTokens["<|endoftext|>"]);
    }

    [Fact]
    public void TrainerLearnsHandCheckedMerges()
    {
        // Pieces: "ab"×1, " ab"×2, " abc"×1. Pair counts: (a,b)=4, (Ġ,a)=3, (b,c)=1 → merge "a b".
        // Then (Ġ,ab)=3, (ab,c)=1 → "Ġ ab"; then (Ġab,c)=1 → "Ġab c".
        var tok = new BpeTrainer(259).Train("ab ab ab abc");
        Assert.Equal([("a", "b"), ("Ġ", "ab"), ("Ġab", "c")], tok.MergeList);
        Assert.Equal([256, 258], tok.Encode("ab abc"));
    }

    [Fact]
    public void TrainerBreaksTiesByLowestPairIds()
    {
        // "xy", " yx": pairs (x,y), (Ġ,y), (y,x) all count 1; Ġ is byte 0x20, the lowest id.
        var tok = new BpeTrainer(257).Train("xy yx");
        Assert.Equal([("Ġ", "y")], tok.MergeList);
    }

    [Fact]
    public void BpeSavesHuggingFaceJsonAndLoadsIdentically()
    {
        var tok = new BpeTrainer(400, ["<|endoftext|>"]).Train(Corpus);
        var path = Path.Combine(_dir, "tokenizer.json");
        tok.Save(path);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Equal("BPE", (string?)json["model"]!["type"]);
        Assert.Equal("ByteLevel", (string?)json["pre_tokenizer"]!["type"]);
        Assert.Equal("ByteLevel", (string?)json["decoder"]!["type"]);
        Assert.Equal("<|endoftext|>", (string?)json["added_tokens"]![0]!["content"]);
        Assert.Equal(tok.MergeList.Count, json["model"]!["merges"]!.AsArray().Count);

        var loaded = TokenizerJson.Load(path);
        Assert.IsType<ByteLevelBpeTokenizer>(loaded);
        Assert.Equal(tok.VocabSize, loaded.VocabSize);
        Assert.Equal(tok.Encode(Corpus), loaded.Encode(Corpus));
    }

    [Fact]
    public void LoadsMergesInPairForm()
    {
        var tok = new BpeTrainer(270).Train(Corpus);
        var path = Path.Combine(_dir, "pairs.json");
        tok.Save(path);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json["model"]!["merges"] = new JsonArray(tok.MergeList.Select(m => (JsonNode)new JsonArray(m.A, m.B)).ToArray());
        File.WriteAllText(path, json.ToJsonString());
        Assert.Equal(tok.Encode(Corpus), TokenizerJson.Load(path).Encode(Corpus));
    }

    [Fact]
    public void CharTokenizerRoundTripsAndSavesAsHuggingFaceBpe()
    {
        var tok = CharTokenizer.Train(Corpus);
        Assert.Equal(Corpus, tok.Decode(tok.Encode(Corpus)));
        Assert.Equal(Corpus.EnumerateRunes().Count(), tok.Encode(Corpus).Length);   // 😀 is one token, not two UTF-16 units
        var path = Path.Combine(_dir, "char.json");
        tok.Save(path);
        var loaded = TokenizerJson.Load(path);
        Assert.IsType<CharTokenizer>(loaded);
        Assert.Equal(tok.Encode(Corpus), loaded.Encode(Corpus));
        Assert.Equal("Fuse", (string?)JsonNode.Parse(File.ReadAllText(path))!["decoder"]!["type"]);
    }

    [Fact]
    public void CharTokenizerNamesAnUnknownCharacter()
    {
        var tok = CharTokenizer.Train("abc");
        var e = Assert.Throws<ArgumentException>(() => tok.Encode("abz"));
        Assert.Contains("'z'", e.Message);
        Assert.Contains("U+007A", e.Message);
    }

    [Fact]
    public void StreamingDecoderHoldsBackPartialCharacters()
    {
        var tok = new BpeTrainer(256).Train("x");   // bytes only: 😀 is four tokens
        var ids = tok.Encode("a😀b");
        Assert.Equal(6, ids.Length);
        var dec = new StreamingDecoder(tok);
        var pieces = ids.Select(dec.Push).ToList();
        Assert.Equal(["a", "", "", "", "😀", "b"], pieces);
        Assert.Equal("", dec.Flush());
    }

    [Fact]
    public void MalformedTokenizerFilesGiveClearErrors()
    {
        var bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, "{ not json");
        Assert.Contains("not valid JSON", Assert.Throws<TokenizerFormatException>(() => TokenizerJson.Load(bad)).Message);
        File.WriteAllText(bad, """{"model":{"type":"WordPiece","vocab":{}}}""");
        Assert.Contains("WordPiece", Assert.Throws<TokenizerFormatException>(() => TokenizerJson.Load(bad)).Message);
        File.WriteAllText(bad, """{"model":{"type":"BPE","vocab":{"a":0,"b":5},"merges":[]}}""");
        Assert.Contains("not contiguous", Assert.Throws<TokenizerFormatException>(() => TokenizerJson.Load(bad)).Message);
        Assert.Throws<FileNotFoundException>(() => TokenizerJson.Load(Path.Combine(_dir, "missing.json")));
    }
}
