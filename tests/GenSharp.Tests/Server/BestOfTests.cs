using System.Net;
using System.Text;
using System.Text.Json;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Server;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;

namespace GenSharp.Tests.Server;

/// <summary>
/// <c>best_of</c> on a real server: OpenAI's semantics (the n best of best_of by mean log-probability per token, usage of
/// every candidate, no streaming) and GenSharp's extensions (reward_model, reject_patterns, blocklist) with their 400s.
/// </summary>
public sealed class BestOfTests : TempDirectoryTest
{
    const string Lm = "shakespeare-char";
    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    async Task<TestServer> Serve()
    {
        var lm = AutoPipeline.OpenText(CliRunner.Bundled());
        var template = ChatTemplate.Load(CliRunner.Bundled());
        using (var rm = LlamaForSequenceClassification.FromLanguageModel(lm.Model, seed: 3))
        {
            ModelDirectory.SaveReward(Path.Combine(_dir, "judge"), rm, lm.Tokenizer, template);
            var other = new CharTokenizer(((CharTokenizer)lm.Tokenizer).Tokens.Reverse());
            ModelDirectory.SaveReward(Path.Combine(_dir, "stranger"), rm, other, template);
        }
        lm.Model.Dispose();
        return await TestServer.StartAsync(new ServerOptions { Models = [CliRunner.Bundled(), Path.Combine(_dir, "judge"), Path.Combine(_dir, "stranger")], MaxBatch = 16 });
    }

    static async Task<TextCompletion> Complete(TestServer server, string body)
    {
        using var r = await server.Http.PostAsync("/v1/completions", Json(body));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, text);
        return JsonSerializer.Deserialize(text, OpenAiJson.Default.TextCompletion)!;
    }

    [Fact]
    public async Task BestOfReturnsTheBestMeanLogProbabilitiesAndExtensionsRankAndFilter()
    {
        await using var server = await Serve();
        // The same seed samples the same candidates: n = 5 with logprobs shows them all; best_of 5, n 2 must return the two best.
        var all = await Complete(server, $$"""{"model":"{{Lm}}","prompt":"ROMEO:\n","max_tokens":12,"seed":9,"n":5,"logprobs":0}""");
        var means = all.Choices.Select(c => (c.Text, Mean: c.Logprobs!.TokenLogprobs.Average())).ToList();
        var best = await Complete(server, $$"""{"model":"{{Lm}}","prompt":"ROMEO:\n","max_tokens":12,"seed":9,"n":2,"best_of":5}""");
        Assert.Equal(means.OrderByDescending(m => m.Mean).Take(2).Select(m => m.Text), best.Choices.Select(c => c.Text));
        Assert.Equal([0, 1], best.Choices.Select(c => c.Index));
        Assert.All(best.Choices, c => Assert.Null(c.Logprobs));   // not asked for: not returned, though ranking used them
        Assert.Equal(means.Max(m => m.Mean), best.Choices[0].Score!.Value, 4);
        Assert.Equal("mean_logprob", best.ScoredBy);
        Assert.Equal(all.Usage!.CompletionTokens, best.Usage!.CompletionTokens);   // all five candidates are billed, as OpenAI does

        // Ranked by a served reward model: the scores are its own.
        var judged = await Complete(server, $$"""{"model":"{{Lm}}","prompt":"ROMEO:\n","max_tokens":12,"seed":9,"best_of":5,"reward_model":"judge"}""");
        Assert.Equal("reward", judged.ScoredBy);
        using (var judge = AutoPipeline.OpenReward(Path.Combine(_dir, "judge")))
        {
            var scores = all.Choices.Select(c => judge.Score("ROMEO:\n", c.Text)).ToList();
            Assert.Equal(all.Choices[scores.IndexOf(scores.Max())].Text, judged.Choices.Single().Text);
            Assert.Equal(scores.Max(), judged.Choices.Single().Score!.Value, 3);
        }

        // Filters: refused candidates are listed with the reason; missing choices are content_filter.
        var refused = await Complete(server, $$"""{"model":"{{Lm}}","prompt":"ROMEO:\n","max_tokens":12,"seed":9,"n":2,"best_of":3,"reject_patterns":["[a-z]"]}""");
        Assert.All(refused.Choices, c => Assert.Equal(("", "content_filter"), (c.Text, c.FinishReason)));
        Assert.Equal(3, refused.Rejected!.Length);
        Assert.All(refused.Rejected, x => Assert.StartsWith("matches /[a-z]/", x.Reason));
        Assert.Equal(all.Choices.Take(3).Select(c => c.Text), refused.Rejected.Select(x => x.Text));

        // A plain request is unchanged: no GenSharp fields.
        using var plain = await server.Http.PostAsync("/v1/completions", Json($$"""{"model":"{{Lm}}","prompt":"a","max_tokens":2}"""));
        var body = await plain.Content.ReadAsStringAsync();
        Assert.DoesNotContain("scored_by", body);
        Assert.DoesNotContain("rejected", body);

        using var list = await server.Http.GetAsync("/v1/models");
        var models = JsonSerializer.Deserialize(await list.Content.ReadAsStringAsync(), OpenAiJson.Default.ModelList)!;
        Assert.Equal("reward", models.Data.Single(m => m.Id == "judge").Type);
    }

    [Theory]
    [InlineData("\"n\":3,\"best_of\":2", "'best_of' (2) must be at least 'n' (3)", "best_of")]
    [InlineData("\"best_of\":3,\"stream\":true", "cannot be used with 'stream'", "stream")]
    [InlineData("\"best_of\":99", "'best_of' must be", "best_of")]
    [InlineData("\"best_of\":2,\"reject_patterns\":[\"(\"]", "is not a valid regular expression", "reject_patterns")]
    [InlineData("\"blocklist\":[\" \"]", "the blocklist is empty", "blocklist")]
    [InlineData("\"best_of\":2,\"reward_model\":\"nobody\"", "no reward model 'nobody' is served", "reward_model")]
    [InlineData("\"best_of\":2,\"reward_model\":\"stranger\"", "trained from another base", "reward_model")]
    [InlineData("\"best_of\":2,\"prompt\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]", "9 prompts × best_of = 2 exceeds", "best_of")]
    public async Task BadRefinementsAreFieldNamed400s(string fields, string message, string param)
    {
        await using var server = await Serve();
        var prompt = fields.Contains("\"prompt\"") ? "" : "\"prompt\":\"x\",";
        using var r = await server.Http.PostAsync("/v1/completions", Json($$"""{"model":"{{Lm}}",{{prompt}}"max_tokens":2,{{fields}}}"""));
        var error = JsonSerializer.Deserialize(await r.Content.ReadAsStringAsync(), OpenAiJson.Default.ErrorResponse)!;
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains(message, error.Error.Message);
        Assert.Equal(param, error.Error.Param);
    }
}
