using GenSharp.Sampling;
using GenSharp.Tests.Cli;

namespace GenSharp.Tests.Sampling;

/// <summary>A checkpoint's generation_config.json fills the controls a caller leaves unset — in the library and in <c>gensharp generate</c>.</summary>
public sealed class GenerationDefaultsTests : TempDirectoryTest
{
    [Fact]
    public void TheFileFillsOnlyWhatTheCallerLeftUnset()
    {
        File.WriteAllText(Path.Combine(_dir, GenerationDefaults.FileName),
            """{"do_sample": true, "temperature": 0.6, "top_p": 0.9, "top_k": 50, "repetition_penalty": 1.1, "max_new_tokens": 20, "bos_token_id": 1, "eos_token_id": [2, 3]}""");
        var d = GenerationDefaults.Load(_dir);
        var o = d.ApplyTo(new GenerationOptions { Temperature = 1.3 }, name => name == nameof(GenerationOptions.Temperature));
        Assert.Equal((1.3, 50, 0.9, 1.1, 20), (o.Temperature, o.TopK, o.TopP, o.RepetitionPenalty, o.MaxTokens));
        Assert.Equal(0.6, d.ApplyTo(new GenerationOptions(), _ => false).Temperature);

        File.WriteAllText(Path.Combine(_dir, GenerationDefaults.FileName), """{"do_sample": false, "temperature": 0.6, "top_k": 50}""");
        var greedy = GenerationDefaults.Load(_dir).ApplyTo(new GenerationOptions(), _ => false);
        Assert.Equal((0.0, 0), (greedy.Temperature, greedy.TopK));   // do_sample false: greedy, the sampling keys unused (as transformers)
        Assert.Same(GenerationDefaults.None, GenerationDefaults.Load(Path.Combine(_dir, "absent")));
    }

    [Theory]
    [InlineData("""{"do_sample": true, "temperature": -1}""", "temperature")]
    [InlineData("""{"do_sample": true, "top_k": "fifty"}""", "'top_k' is not a number")]
    [InlineData("""{"max_new_tokens": 0}""", "max tokens must be")]
    [InlineData("""[1, 2]""", "not valid JSON")]
    public void ABadFileIsAnErrorNamingItAndTheKey(string json, string expected)
    {
        var path = Path.Combine(_dir, GenerationDefaults.FileName);
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidDataException>(() => GenerationDefaults.Load(_dir));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void GenerateUsesTheModelsDefaultsUnlessAFlagIsGiven()
    {
        var bundled = Path.Combine(CliRunner.Repo(), "models", "shakespeare-char");
        var copy = Path.Combine(_dir, "model");
        Directory.CreateDirectory(copy);
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json" }) File.Copy(Path.Combine(bundled, f), Path.Combine(copy, f));
        File.WriteAllText(Path.Combine(copy, GenerationDefaults.FileName), """{"do_sample": false, "max_new_tokens": 24}""");
        string Run(params string[] args)
        {
            var (code, output, err) = CliRunner.Run(null, ["generate", "--prompt", "ROMEO:", "--seed", "3", .. args]);
            Assert.True(code == 0, err);
            return output;
        }
        Assert.Equal(Run("--model", bundled, "--temperature", "0", "--max-tokens", "24"), Run("--model", copy));                  // the file's greedy, 24 tokens
        Assert.Equal(Run("--model", bundled, "--temperature", "0.9", "--max-tokens", "24"), Run("--model", copy, "--temperature", "0.9"));   // a flag wins
    }

    [Fact]
    public async Task TheServerUsesTheModelsDefaultsForWhatARequestLeavesUnset()
    {
        var copy = Path.Combine(_dir, "shakespeare-defaults");
        Directory.CreateDirectory(copy);
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "chat_template.json" })
            File.Copy(Path.Combine(CliRunner.Bundled(), f), Path.Combine(copy, f));
        File.WriteAllText(Path.Combine(copy, GenerationDefaults.FileName), """{"do_sample": false, "max_new_tokens": 12}""");
        await using var server = await Server.TestServer.StartAsync(new GenSharp.Server.ServerOptions { Models = [copy] });
        async Task<System.Text.Json.JsonElement> Complete(string extra)
        {
            using var r = await server.Http.PostAsync("/v1/completions", new StringContent(
                $$"""{"model": "shakespeare-defaults", "prompt": "ROMEO:"{{extra}}}""", System.Text.Encoding.UTF8, "application/json"));
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(r.IsSuccessStatusCode, body);
            return System.Text.Json.JsonDocument.Parse(body).RootElement;
        }
        var a = await Complete(""", "seed": 1""");
        var b = await Complete(""", "seed": 2""");
        Assert.Equal(12, a.GetProperty("usage").GetProperty("completion_tokens").GetInt32());                  // max_new_tokens
        Assert.Equal(a.GetProperty("choices")[0].GetProperty("text").GetString(), b.GetProperty("choices")[0].GetProperty("text").GetString());   // greedy
        var c = await Complete(""", "max_tokens": 30, "temperature": 1.5, "seed": 1""");
        Assert.Equal(30, c.GetProperty("usage").GetProperty("completion_tokens").GetInt32());                  // the request wins
    }
}
