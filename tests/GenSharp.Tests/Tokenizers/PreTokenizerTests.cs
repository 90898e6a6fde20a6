using System.Text.Json.Nodes;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;

namespace GenSharp.Tests.Tokenizers;

/// <summary>The byte-level pre-tokenizer families against pieces worked out by hand from their regexes, and their tokenizer.json form.</summary>
public sealed class PreTokenizerTests : TempDirectoryTest
{
    [Fact]
    public void EachFamilySplitsTextAsItsRegexSays()
    {
        const string text = "Hello  world's 12345\n\n";
        // GPT-2: a space run before a word leaves its last space to the word; digits in one run; contractions lower-case only.
        Assert.Equal(["Hello", " ", " world", "'s", " 12345", "\n\n"], PreTokenizer.Gpt2.Split(text));
        Assert.Equal(["I", "'", "M", " here"], PreTokenizer.Gpt2.Split("I'M here"));
        // Llama 3: digits in threes, the space before digits alone, newline runs kept together, contractions in any case.
        Assert.Equal(["Hello", " ", " world", "'s", " ", "123", "45", "\n\n"], PreTokenizer.Llama3.Split(text));
        Assert.Equal(["I", "'M", " here"], PreTokenizer.Llama3.Split("I'M here"));
        Assert.Equal(["x", " +=\n", "    ", " y"], PreTokenizer.Llama3.Split("x +=\n     y"));   // a symbol run takes its newlines
        // Qwen2: as Llama 3, every digit alone.
        Assert.Equal(["Hello", " ", " world", "'s", " ", "1", "2", "3", "4", "5", "\n\n"], PreTokenizer.Qwen2.Split(text));
        // Letters of any script, an emoji (a symbol run), and pieces that always give back the text.
        Assert.Equal(["Grüße", " 世界", " 😀!"], PreTokenizer.Llama3.Split("Grüße 世界 😀!"));
        foreach (var splitter in new[] { PreTokenizer.Gpt2, PreTokenizer.Llama3, PreTokenizer.Qwen2 })
            Assert.Equal("a\tb  c\r\n\u00A0d 1e9 é", string.Concat(splitter.Split("a\tb  c\r\n\u00A0d 1e9 é")));
        Assert.Equal(["gpt-2", "llama-bpe", "qwen2"], new[] { PreTokenizer.Gpt2, PreTokenizer.Llama3, PreTokenizer.Qwen2 }.Select(p => p.LlamaCppName));
        Assert.Null(new PreTokenizer(@"\w+|\W").LlamaCppName);
        Assert.Contains("took over a second", Assert.Throws<InvalidOperationException>(() => new PreTokenizer(@"(a+)+$").Split(new string('a', 40) + "!")).Message);
    }

    [Fact]
    public void Llama3AndQwen2TokenizersRoundTripThroughTokenizerJsonInHfsShape()
    {
        var text = File.ReadAllText(Path.Combine(CliRunner.Repo(), "data", "tinyshakespeare.txt"))[..30_000];
        var trained = new BpeTrainer(360, ["<|endoftext|>"]).Train(text);
        foreach (var (splitter, ignoreMerges, nfc) in new[] { (PreTokenizer.Llama3, true, false), (PreTokenizer.Qwen2, false, true) })
        {
            var tokenizer = new ByteLevelBpeTokenizer(trained.Tokens, trained.MergeList, trained.SpecialTokens, splitter, ignoreMerges, nfc);
            var path = Path.Combine(_dir, $"{splitter.LlamaCppName}.json");
            tokenizer.Save(path);
            var json = JsonNode.Parse(File.ReadAllText(path))!;
            Assert.Equal("Sequence", (string?)json["pre_tokenizer"]!["type"]);
            Assert.Equal(splitter.Pattern, (string?)json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"]);
            Assert.Equal(ignoreMerges, (bool)json["model"]!["ignore_merges"]!);
            var loaded = Assert.IsType<ByteLevelBpeTokenizer>(TokenizerJson.Load(path));
            Assert.Same(splitter, loaded.Splitter);
            Assert.Equal((ignoreMerges, nfc), (loaded.IgnoreMerges, loaded.Nfc));
            var sample = text[..3000] + " 2024 I'M café<|endoftext|>Cafe\u0301";
            Assert.Equal(tokenizer.Encode(sample), loaded.Encode(sample));
        }
        // A pre-tokenizer real files may carry that GenSharp does not run is named.
        File.WriteAllText(Path.Combine(_dir, "meta.json"), File.ReadAllText(Path.Combine(_dir, "qwen2.json")).Replace("\"Sequence\"", "\"Metaspace\""));
        Assert.Contains("Metaspace", Assert.Throws<TokenizerFormatException>(() => TokenizerJson.Load(Path.Combine(_dir, "meta.json"))).Message);
    }
}
