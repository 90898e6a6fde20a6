using System.Net;
using System.Text;
using System.Text.Json;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Server;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Server.Hosting;
using GenSharp.Tests.Cli;
using GenSharp.Tests.Server;
using GenSharp.Tests.Training;
using static TorchSharp.torch;

namespace GenSharp.Tests.FineTuning;

/// <summary>Adapters served side by side on one copy of the base weights, their rows decoded in the same batch.</summary>
[Collection(GlobalRngCollection.Name)]
public sealed class MultiLoraTests : TempDirectoryTest
{
    // An adapter with random updates (B ≠ 0), saved in PEFT's layout.
    string Adapter(string name, long seed, string[] targets, int rank = 4)
    {
        var text = AutoPipeline.OpenText(CliRunner.Bundled());
        var config = new LoraConfig { Rank = rank, Alpha = 2 * rank, TargetModules = targets };
        text.Model.AttachLora(config, seed);
        using (no_grad())
            foreach (var (_, l) in text.Model.LoraLayers) l.B.normal_(0, 0.03, new TorchSharp.torch.Generator((ulong)seed));
        var dir = Path.Combine(_dir, name);
        LoraAdapter.Save(dir, text.Model, config, CliRunner.Bundled());
        text.Model.Dispose();
        return dir;
    }

    static readonly GenerationOptions Greedy = new() { MaxTokens = 24, Temperature = 0, Logprobs = true };

    [Fact]
    public void RowsOfDifferentAdaptersInOneBatchEqualEachAdapterRunAlone()
    {
        var a = Adapter("a", 1, LoraConfig.AllTargets);
        var b = Adapter("b", 2, ["q_proj", "v_proj", "down_proj"], rank: 2);   // a smaller rank: padded in the bank
        var prompt = "ROMEO:\nWhat light";

        var served = AutoPipeline.OpenText(CliRunner.Bundled());
        Assert.Equal(0, LoraAdapter.Serve(a, "a", served.Model));
        Assert.Equal(1, LoraAdapter.Serve(b, "b", served.Model));
        Assert.Equal(["a", "b"], served.Model.AdapterNames);
        using var engine = new GenerationEngine(served.Model, served.Tokenizer, 4);
        var ids = engine.EncodePrompt(prompt);
        var seqs = new[] { engine.Add(ids, Greedy, adapter: 0)[0], engine.Add(ids, Greedy)[0], engine.Add(ids, Greedy, adapter: 1)[0] };
        while (seqs.Any(s => s.Finish is null)) engine.Step();

        foreach (var (seq, adapter) in seqs.Zip(new string?[] { a, null, b }))
        {
            var alone = AutoPipeline.OpenText(CliRunner.Bundled(), adapter: adapter).Generate(prompt, Greedy).Choices[0];
            Assert.Equal(alone.Tokens, seq.Tokens);
            Assert.All(alone.Logprobs!.Zip(seq.Logprobs!), p => Assert.Equal(p.First.Logprob, p.Second.Logprob, 3));
        }
        Assert.NotEqual(seqs[0].Tokens, seqs[1].Tokens);   // the adapters really change the output
    }

    [Fact]
    public async Task TheServerServesEachAdapterAsItsOwnModel()
    {
        var a = Adapter("poems", 3, LoraConfig.AllTargets);
        await using var server = await TestServer.StartAsync(new ServerOptions { Models = [CliRunner.Bundled()], MaxBatch = 4 }, [("poems", a)]);
        var http = server.Http;

        var list = JsonSerializer.Deserialize(await http.GetStringAsync("/v1/models"), OpenAiJson.Default.ModelList)!;
        var poems = Assert.Single(list.Data, m => m.Id == "poems");
        Assert.Equal("shakespeare-char", poems.Parent);

        async Task<string> Complete(string model)
        {
            var body = JsonSerializer.Serialize(new CompletionRequest { Model = model, Prompt = ["ROMEO:\nWhat light"], MaxTokens = 24, Temperature = 0 }, OpenAiRequestJson.Default.CompletionRequest);
            using var r = await http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{model}: {(int)r.StatusCode} {text}");
            var c = JsonSerializer.Deserialize(text, OpenAiJson.Default.TextCompletion)!;
            Assert.Equal(model, c.Model);
            return c.Choices[0].Text;
        }
        var both = await Task.WhenAll(Complete("poems"), Complete("shakespeare-char"));
        Assert.Equal(AutoPipeline.OpenText(CliRunner.Bundled(), adapter: a).Generate("ROMEO:\nWhat light", Greedy with { Logprobs = false }).Choices[0].Text, both[0]);
        Assert.Equal(AutoPipeline.OpenText(CliRunner.Bundled()).Generate("ROMEO:\nWhat light", Greedy with { Logprobs = false }).Choices[0].Text, both[1]);

        using var e = await http.PostAsync("/v1/embeddings", new StringContent("""{"model":"poems","input":"x"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
        Assert.Contains("ask for 'shakespeare-char'", JsonSerializer.Deserialize(await e.Content.ReadAsStringAsync(), OpenAiJson.Default.ErrorResponse)!.Error.Message);
    }
}
