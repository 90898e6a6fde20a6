using System.Text.Json;
using GenSharp.Server.Api.OpenAi;

namespace GenSharp.Tests.Cli;

/// <summary><c>gensharp generate</c> and <c>gensharp chat</c> on the bundled model, run as a user would.</summary>
public sealed class GenerateCliTests : TempDirectoryTest
{
    static readonly string Bundled = CliRunner.Bundled();

    static (int Code, string Out, string Err) Run(string? stdin, params string[] args) => CliRunner.Run(stdin, args);

    [Fact]
    public void JsonOutputCarriesEveryControl()
    {
        var r = Run(null, "generate", "--model", Bundled, "--prompt", "ROMEO:\n", "--max-tokens", "60", "--top-p", "0.9", "--min-p", "0.05",
            "--typical-p", "0.95", "--repetition-penalty", "1.1", "--presence-penalty", "0.2", "--frequency-penalty", "0.1",
            "--stop", "\\n\\n", "--n", "2", "--logprobs", "--top-logprobs", "2", "--seed", "1", "--json");
        Assert.True(r.Code == 0, r.Err);
        // The same typed record the server answers with (text_completion), read back with its source-generated serializer.
        var completion = JsonSerializer.Deserialize(r.Out, OpenAiJson.Default.TextCompletion)!;
        Assert.Equal(TextCompletion.ObjectName, completion.Object);
        Assert.Equal(2, completion.Choices.Length);
        int tokens = 0;
        foreach (var c in completion.Choices)
        {
            Assert.DoesNotContain("\n\n", c.Text);
            Assert.True(c.FinishReason is "stop" or "length", c.FinishReason);
            Assert.Equal(c.Tokens!.Length, c.Logprobs!.Tokens.Length);
            Assert.Equal(c.Text, string.Concat(c.Logprobs.Tokens));
            Assert.All(c.Logprobs.TopLogprobs, top => Assert.Equal(2, top.Count));
            tokens += c.Tokens.Length;
        }
        Assert.Equal(7, completion.Usage!.PromptTokens);
        Assert.Equal(tokens, completion.Usage.CompletionTokens);
    }

    [Fact]
    public void BeamSearchReturnsRankedChoices()
    {
        var r = Run(null, "generate", "--model", Bundled, "--prompt", "KING:\n", "--max-tokens", "12", "--beams", "3", "--n", "2", "--json");
        Assert.True(r.Code == 0, r.Err);
        var scores = JsonSerializer.Deserialize(r.Out, OpenAiJson.Default.TextCompletion)!.Choices.Select(c => c.BeamScore!.Value).ToList();
        Assert.Equal(2, scores.Count);
        Assert.True(scores[0] >= scores[1]);
    }

    [Theory]
    [InlineData("temperature must be a finite number ≥ 0", "--temperature", "-1")]
    [InlineData("top-p must be in (0, 1]", "--top-p", "1.5")]
    [InlineData("max tokens must be in 1…", "--max-tokens", "0")]
    [InlineData("a stop sequence is empty", "--stop", "")]
    [InlineData("beams must be in 1…16", "--beams", "99")]
    [InlineData("--logit-bias 'x' is not TOKEN_ID=BIAS", "--logit-bias", "x")]
    [InlineData("--context-overflow 'wrap' is not slide or stop", "--context-overflow", "wrap")]
    [InlineData("--prompt is not valid UTF-8", "--prompt", "a\uFFFDb")]
    public void BadParametersAreClearErrors(string message, string flag, string value)
    {
        var r = Run(null, "generate", "--model", Bundled, flag, value);
        Assert.Equal(1, r.Code);
        Assert.Contains(message, r.Err);
        Assert.Equal("", r.Out);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public void PromptProblemsNameThemselves()
    {
        var tooLong = Run(null, "generate", "--model", Bundled, "--prompt", new string('a', 200));
        Assert.Equal(1, tooLong.Code);
        Assert.Contains("the prompt is 200 tokens but the model's context is 128 tokens", tooLong.Err);

        var file = Path.Combine(_dir, "bad.txt");
        File.WriteAllBytes(file, [0x41, 0xC3, 0x28, 0x42]);
        var badUtf8 = Run(null, "generate", "--model", Bundled, "--prompt-file", file);
        Assert.Equal(1, badUtf8.Code);
        Assert.Contains("bad.txt: not valid UTF-8 (bad byte at offset 1)", badUtf8.Err);

        var missing = Run(null, "generate", "--model", Path.Combine(_dir, "nope"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("model directory not found", missing.Err);
    }

    [Fact]
    public void ChatRepliesKeepsGoingAfterABadMessageAndHonoursCommands()
    {
        var r = Run("Good morrow, sir.\nhello #1\n/system Thou art a duke.\nWhat news?\n/reset\n/nonsense\n/exit\nnever read\n",
            "chat", "--model", Bundled, "--seed", "2", "--max-tokens", "40");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(2, r.Out.Split("assistant> ").Length - 1);
        Assert.Contains("character '#' (U+0023) is not in this character-level tokenizer's vocabulary", r.Err);
        Assert.Contains("(system message set)", r.Out);
        Assert.Contains("(conversation cleared)", r.Out);
        Assert.Contains("unknown command /nonsense", r.Out);
    }

    [Fact]
    public void BestOfKeepsTheBestCandidatesAndReportsRefusals()
    {
        var r = Run(null, "generate", "--model", Bundled, "--prompt", "KING:\n", "--max-tokens", "16", "--best-of", "4", "--n", "2", "--seed", "3", "--json");
        Assert.True(r.Code == 0, r.Err);
        var best = JsonSerializer.Deserialize(r.Out, OpenAiJson.Default.TextCompletion)!;
        Assert.Equal("mean_logprob", best.ScoredBy);
        Assert.Equal(2, best.Choices.Length);
        Assert.True(best.Choices[0].Score >= best.Choices[1].Score);
        Assert.True(best.Usage!.CompletionTokens > best.Choices.Sum(c => c.Tokens!.Length));   // four candidates were sampled

        var blocklist = Path.Combine(_dir, "blocklist.txt");
        File.WriteAllLines(blocklist, ["# every candidate has a letter", "e", "a", "o", "i", "u", "t", "s", "h"]);
        var none = Run(null, "generate", "--model", Bundled, "--prompt", "KING:\n", "--max-tokens", "16", "--best-of", "3", "--seed", "3",
            "--reject-regex", "[A-Za-z]", "--blocklist", blocklist);
        Assert.Equal(1, none.Code);
        Assert.Contains("rejected candidate 1: ", none.Err);
        Assert.Contains("all 3 candidates were rejected by the filters", none.Err);

        var notReward = Run(null, "generate", "--model", Bundled, "--prompt", "x", "--best-of", "2", "--reward", Bundled);
        Assert.Equal(1, notReward.Code);
        Assert.Contains("holds a language model, not a reward model", notReward.Err);
        var badPattern = Run(null, "generate", "--model", Bundled, "--prompt", "x", "--reject-regex", "[");
        Assert.Contains("reject pattern '[' is not a valid regular expression", badPattern.Err);
    }
}
