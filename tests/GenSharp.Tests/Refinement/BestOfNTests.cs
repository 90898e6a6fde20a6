using System.Text.Json.Nodes;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Refinement;
using GenSharp.Sampling;
using GenSharp.Tests.Cli;
using GenSharp.Tests.Training;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Refinement;

/// <summary>Best-of-n: the argmax of the scores among the candidates the filters keep, with the reasons for the rest.</summary>
[Collection(GlobalRngCollection.Name)]
public sealed class BestOfNTests : TempDirectoryTest
{
    // A candidate whose tokens have these log-probabilities (its mean is the ranking score).
    static Choice Candidate(int index, string text, params float[] logprobs) =>
        new(index, text, FinishReason.Stop, [.. logprobs.Select((_, i) => i)], [.. logprobs.Select(l => new TokenLogprob(0, "x", l, []))]);

    static GenerationResult Generated(params Choice[] choices) => new(choices, new Usage(5, choices.Sum(c => c.Tokens.Count)));

    [Fact]
    public void TheBestMeanLogProbabilitiesWinAndFiltersRefuseWithTheReason()
    {
        var generated = Generated(
            Candidate(0, "a fair day", -1.0f, -2.0f),           // mean −1.5
            Candidate(1, "a foul day", -0.1f, -0.1f, -0.4f),    // mean −0.2: the best, but refused below
            Candidate(2, "a good day", -0.5f, -0.7f),           // mean −0.6
            Candidate(3, "a grey day", -0.6f),                  // mean −0.6: ties keep generation order
            Candidate(4, "a wet day", -3.0f));                  // mean −3
        var unfiltered = BestOfN.Select(generated, JsonValue.Create("p"), 2, MeanLogProbScorer.Instance);
        Assert.Equal([1, 2], unfiltered.Chosen.Select(c => c.Choice.Index));
        Assert.Equal(-0.2, unfiltered.Chosen[0].Score!.Value, 6);
        Assert.Equal("mean_logprob", unfiltered.ScoredBy);
        Assert.Equal(generated.Usage, unfiltered.Usage);   // every candidate's tokens count

        var best = BestOfN.Select(generated, JsonValue.Create("p"), 3, MeanLogProbScorer.Instance, [new Blocklist(["FOUL"]), new RegexFilter("w[aeiou]t")]);
        Assert.Equal([2, 3, 0], best.Chosen.Select(c => c.Choice.Index));
        Assert.Equal([(1, "contains the blocked word 'FOUL'"), (4, "matches /w[aeiou]t/ at \"wet\"")], best.Rejected.Select(c => (c.Choice.Index, c.Rejection!)));
        Assert.All(best.Rejected, c => Assert.Null(c.Score));   // refused candidates are not scored
        Assert.Equal(5, best.Candidates.Count);

        var none = BestOfN.Select(generated, JsonValue.Create("p"), 1, MeanLogProbScorer.Instance, [new RegexFilter("day")]);
        Assert.Empty(none.Chosen);
        Assert.Equal(5, none.Rejected.Count());
    }

    [Fact]
    public void FiltersMatchAsDocumentedAndRefuseBadDefinitions()
    {
        var words = new Blocklist(["ass", "dear heart"]);
        Assert.Null(words.Reject("a class of grass"));                           // only whole words
        Assert.Equal("contains the blocked word 'ass'", words.Reject("Thou ASS!"));
        Assert.Equal("contains the blocked word 'dear heart'", words.Reject("my Dear Heart."));
        Assert.Null(words.Reject("dear hearts"));

        var file = Path.Combine(_dir, "blocklist.txt");
        File.WriteAllLines(file, ["# oaths", "", "  zounds  ", "'sblood"]);
        var fromFile = Blocklist.FromFile(file);
        Assert.Equal(["zounds", "'sblood"], fromFile.Entries);
        Assert.NotNull(fromFile.Reject("'Sblood, sir"));
        File.WriteAllLines(file, ["# nothing"]);
        Assert.Contains("lists no words", Assert.Throws<ArgumentException>(() => Blocklist.FromFile(file)).Message);
        Assert.Throws<FileNotFoundException>(() => Blocklist.FromFile(Path.Combine(_dir, "missing.txt")));

        Assert.Contains("reject pattern '(a' is not a valid regular expression", Assert.Throws<ArgumentException>(() => new RegexFilter("(a")).Message);
        Assert.Equal("matches /\\d+/ at \"42\"", new RegexFilter(@"\d+").Reject("it is 42"));
        // A pattern that takes a backtracking engine 2^40 steps here completes (a backtracking engine would hit the time
        // bound and refuse with "took longer than"); constructs that need backtracking are refused up front.
        Assert.Null(new RegexFilter("(a+)+$").Reject(new string('a', 40) + "!"));
        Assert.Contains("linear-time matching cannot run", Assert.Throws<ArgumentException>(() => new RegexFilter(@"(\w)\1")).Message);

        var options = new GenerationOptions { N = 3 };
        Assert.Contains("best of (2) must be at least n (3)", Assert.Throws<ArgumentException>(() => BestOfN.Sampling(options, 2, MeanLogProbScorer.Instance)).Message);
        Assert.Contains("beam search", Assert.Throws<ArgumentException>(() => BestOfN.Sampling(options with { N = 1, Beams = 2 }, 4, MeanLogProbScorer.Instance)).Message);
    }

    [Fact]
    public void RealCandidatesAreTheSeededSamplesRankedByTheirMeanLogProbability()
    {
        var pipeline = AutoPipeline.OpenText(CliRunner.Bundled());
        var options = new GenerationOptions { MaxTokens = 24, Temperature = 1, Seed = 5, N = 2 };
        var best = BestOfN.Generate(pipeline, "ROMEO:\n", options, 6, MeanLogProbScorer.Instance);
        // The candidates are exactly what n = 6 samples with the same seed are, and the two kept are their two best means.
        var plain = pipeline.Generate("ROMEO:\n", options with { N = 6, Logprobs = true });
        Assert.Equal(plain.Choices.Select(c => c.Text), best.Candidates.Select(c => c.Choice.Text));
        var expected = plain.Choices.OrderByDescending(c => c.Logprobs!.Average(l => (double)l.Logprob)).Take(2).Select(c => c.Text);
        Assert.Equal(expected, best.Chosen.Select(c => c.Choice.Text));
        Assert.True(best.Chosen[0].Score >= best.Chosen[1].Score);
        Assert.Equal(plain.Usage, best.Usage);
        pipeline.Model.Dispose();
    }

    [Fact]
    public void ARewardModelRanksByItsOwnScoresAndRefusesAnotherBaseOrNaN()
    {
        var pipeline = AutoPipeline.OpenText(CliRunner.Bundled());
        var template = ChatTemplate.Load(CliRunner.Bundled());
        var dir = Path.Combine(_dir, "rm");
        using (var rm = LlamaForSequenceClassification.FromLanguageModel(pipeline.Model, seed: 3))
            ModelDirectory.SaveReward(dir, rm, pipeline.Tokenizer, template);
        using var reward = AutoPipeline.OpenReward(dir);
        var scorer = new RewardScorer(reward, pipeline.Tokenizer);
        var best = BestOfN.Generate(pipeline, "JULIET:\n", new GenerationOptions { MaxTokens = 16, Seed = 2 }, 5, scorer);
        var own = best.Candidates.Select(c => reward.Score("JULIET:\n", c.Choice.Text)).ToList();
        Assert.Equal(own.Max(), best.Chosen.Single().Score!.Value, 4);
        Assert.Equal(own.IndexOf(own.Max()), best.Chosen.Single().Choice.Index);
        Assert.Equal("reward", best.ScoredBy);

        // A conversation is scored with the candidate as the assistant's turn, as conversational reward data is.
        var chat = new ChatPipeline(pipeline, template);
        ChatMessage[] conversation = [new("user", "Speak.")];
        var answer = BestOfN.Complete(chat, conversation, new GenerationOptions { MaxTokens = 12, Seed = 4 }, 3, scorer);
        var first = answer.Candidates[0].Choice.Text;
        Assert.Equal(reward.Score(conversation, first), answer.Candidates[0].Score!.Value, 4);

        var shuffled = new CharTokenizer(((CharTokenizer)pipeline.Tokenizer).Tokens.Reverse());
        var e = Assert.Throws<ArgumentException>(() => new RewardScorer(reward, shuffled));
        Assert.Contains("trained from another base", e.Message);
        Assert.Contains("token 0 is", e.Message);

        using (no_grad()) reward.Model.state_dict()["score.weight"].fill_(float.NaN);
        Assert.Contains("not a finite number", Assert.Throws<InvalidOperationException>(() =>
            BestOfN.Generate(pipeline, "JULIET:\n", new GenerationOptions { MaxTokens = 4, Seed = 2 }, 2, scorer)).Message);
        pipeline.Model.Dispose();
    }
}
