#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; the server implements it
using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;
using ImageGenerationOptions = OpenAI.Images.ImageGenerationOptions;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using OpenAI.Images;
using SkiaSharp;

namespace GenSharp.Tests.Server;

/// <summary>The server through the official OpenAI .NET SDK and Microsoft.Extensions.AI.OpenAI, as applications call it.</summary>
public sealed class OpenAiClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    OpenAIClient Client => new(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = server.V1 });

    [Fact]
    public void ListsTheLoadedModels()
    {
        var ids = Client.GetOpenAIModelClient().GetModels().Value.Select(m => m.Id).ToArray();
        Assert.Equal([ServerFixture.Lm, ServerFixture.Images], ids);
    }

    [Fact]
    public void ChatCompletesWithUsageAndIsReproducibleWithASeed()
    {
        var chat = Client.GetChatClient(ServerFixture.Lm);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 30, Seed = 7, Temperature = 0.8f };
        ChatCompletion a = chat.CompleteChat([new SystemChatMessage("Speak as in a play."), new UserChatMessage("Who goes there?")], options);
        ChatCompletion b = chat.CompleteChat([new SystemChatMessage("Speak as in a play."), new UserChatMessage("Who goes there?")], options);
        Assert.Equal(a.Content[0].Text, b.Content[0].Text);
        Assert.True(a.Content[0].Text.Length > 0);
        Assert.Equal(ChatFinishReason.Length, a.FinishReason);
        Assert.Equal(30, a.Usage.OutputTokenCount);
        Assert.True(a.Usage.InputTokenCount > 20);
    }

    [Fact]
    public void ChatStreamsTheSameTextAsTheWholeAnswer()
    {
        var chat = Client.GetChatClient(ServerFixture.Lm);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 25, Seed = 3 };
        var whole = chat.CompleteChat([new UserChatMessage("Speak, friend.")], options).Value.Content[0].Text;
        var streamed = new StringBuilder();
        int updates = 0;
        ChatFinishReason? finish = null;
        foreach (var u in chat.CompleteChatStreaming([new UserChatMessage("Speak, friend.")], options))
        {
            foreach (var part in u.ContentUpdate) streamed.Append(part.Text);
            finish ??= u.FinishReason;
            updates++;
        }
        Assert.Equal(whole, streamed.ToString());
        Assert.True(updates > 5, $"{updates} updates");
        Assert.NotNull(finish);
    }

    [Fact]
    public void ChatLogprobsAreProbabilities()
    {
        var chat = Client.GetChatClient(ServerFixture.Lm);
        var c = chat.CompleteChat([new UserChatMessage("Hail!")], new ChatCompletionOptions { MaxOutputTokenCount = 5, IncludeLogProbabilities = true, TopLogProbabilityCount = 3, Seed = 1 }).Value;
        Assert.Equal(5, c.ContentTokenLogProbabilities.Count);
        foreach (var t in c.ContentTokenLogProbabilities)
        {
            Assert.True(t.LogProbability <= 0);
            Assert.Equal(3, t.TopLogProbabilities.Count);
            Assert.True(t.TopLogProbabilities[0].LogProbability >= t.LogProbability - 1e-5);   // the most likely comes first
        }
    }

    [Fact]
    public void EmbeddingsAreMeanPooledHiddenStates()
    {
        var e = Client.GetEmbeddingClient(ServerFixture.Lm).GenerateEmbeddings(["ROMEO", "ROMEO", "JULIET"]).Value;
        Assert.Equal(3, e.Count);
        var (a, b, c) = (e[0].ToFloats().ToArray(), e[1].ToFloats().ToArray(), e[2].ToFloats().ToArray());
        Assert.Equal(192, a.Length);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void ImagesComeBackAsPngsOfTheRequestedClass()
    {
        var images = Client.GetImageClient(ServerFixture.Images);
        var result = images.GenerateImages("a sneaker", 2, new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Bytes, Size = new GeneratedImageSize(56, 56) }).Value;
        Assert.Equal(2, result.Count);
        using var bmp = SKBitmap.Decode(result[0].ImageBytes.ToArray());
        Assert.Equal((56, 56), (bmp.Width, bmp.Height));
        Assert.Equal("a sneaker", result[0].RevisedPrompt);
        var e = Assert.Throws<ClientResultException>(() => images.GenerateImage("a hat", new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Bytes }));
        Assert.Equal(400, e.Status);
        Assert.Contains("cannot honour 'a hat'", e.Message);
    }

    [Fact]
    public void BadRequestsAreOpenAiErrorsNamingTheField()
    {
        var chat = Client.GetChatClient(ServerFixture.Lm);
        var e = Assert.Throws<ClientResultException>(() => chat.CompleteChat([new UserChatMessage("x")], new ChatCompletionOptions { Temperature = 3 }));
        Assert.Equal(400, e.Status);
        Assert.Contains("'temperature' must be between 0 and 2", e.Message);
        e = Assert.Throws<ClientResultException>(() => Client.GetChatClient("nope").CompleteChat([new UserChatMessage("x")]));
        Assert.Equal(404, e.Status);
        e = Assert.Throws<ClientResultException>(() => chat.CompleteChat([new UserChatMessage("x")], new ChatCompletionOptions { MaxOutputTokenCount = 500 }));
        Assert.Contains("leaves room for", e.Message);
    }

    [Fact]
    public async Task DiffusionStepsAndGuidanceArePerRequest()
    {
        async Task<(HttpStatusCode, string)> Post(string body)
        {
            using var r = await server.Http.PostAsync("/v1/images/generations", new StringContent(body, Encoding.UTF8, "application/json"));
            return (r.StatusCode, await r.Content.ReadAsStringAsync());
        }
        var (a, ja) = await Post("""{"model":"fmnist-diffusion","prompt":"a bag","seed":3,"steps":5,"guidance":1}""");
        var (b, jb) = await Post("""{"model":"fmnist-diffusion","prompt":"a bag","seed":3,"steps":5,"guidance":1}""");
        var (c, jc) = await Post("""{"model":"fmnist-diffusion","prompt":"a bag","seed":3,"steps":6,"guidance":1}""");
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK), (a, b, c));
        string Image(string json) => JsonDocument.Parse(json).RootElement.GetProperty("data")[0].GetProperty("b64_json").GetString()!;
        Assert.Equal(Image(ja), Image(jb));        // same seed and settings: the same image
        Assert.NotEqual(Image(ja), Image(jc));     // another step count: another image
        var (bad, jbad) = await Post("""{"model":"fmnist-diffusion","prompt":"a bag","steps":0}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("must be between 1 and 1000", jbad);
    }

    [Fact]
    public async Task CompletionsOverPlainHttp()
    {
        var body = new StringContent("""{"model":"shakespeare-char","prompt":["ROMEO:","JULIET:"],"max_tokens":6,"n":2,"seed":5,"logprobs":2}""", Encoding.UTF8, "application/json");
        using var r = await server.Http.PostAsync("/v1/completions", body);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var json = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        var choices = json.RootElement.GetProperty("choices");
        Assert.Equal([0, 1, 2, 3], choices.EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(6, choices[0].GetProperty("logprobs").GetProperty("tokens").GetArrayLength());
        Assert.Equal(24, json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task MicrosoftExtensionsAiClientsWork()
    {
        IChatClient chat = Client.GetChatClient(ServerFixture.Lm).AsIChatClient();
        var response = await chat.GetResponseAsync("Good morrow.", new ChatOptions { MaxOutputTokens = 12, Seed = 2 });
        Assert.False(string.IsNullOrEmpty(response.Text));
        var streamed = new StringBuilder();
        await foreach (var u in chat.GetStreamingResponseAsync("Good morrow.", new ChatOptions { MaxOutputTokens = 12, Seed = 2 })) streamed.Append(u.Text);
        Assert.Equal(response.Text, streamed.ToString());
        IEmbeddingGenerator<string, Embedding<float>> embed = Client.GetEmbeddingClient(ServerFixture.Lm).AsIEmbeddingGenerator();
        var v = await embed.GenerateAsync(["ROMEO"]);
        Assert.Equal(192, v[0].Vector.Length);
    }
}
