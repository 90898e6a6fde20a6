using System.Net;
using System.Text;
using System.Text.Json;
using GenSharp.Pipelines;
using GenSharp.Server;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Server.Hosting;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Server;

/// <summary>HTTP details found with curl and the openai npm client: every error in OpenAI's shape, 405s, usage, queues, auth.</summary>
public sealed class ProtocolTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    static async Task<ErrorResponse> Error(HttpResponseMessage r) =>
        JsonSerializer.Deserialize(await r.Content.ReadAsStringAsync(), OpenAiJson.Default.ErrorResponse)!;

    [Theory]
    [InlineData("GET /v1/mo%00dels HTTP/1.1\r\nHost: {0}\r\n\r\n", "refused before it was read")]   // Kestrel's parser: NUL in the path
    [InlineData("GET /health HTTP/1.1\r\n\r\n", "refused before it was read")]                         // Kestrel's parser: no Host
    [InlineData("GET /health HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n", "the Host header is empty")]
    public async Task RequestsRefusedBeforeTheEndpointsStillGetOpenAisErrorBody(string request, string message)
    {
        var uri = new Uri(server.Address);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(string.Format(request, uri.Authority)));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Assert.Equal("HTTP/1.1 400 Bad Request", await reader.ReadLineAsync());
        var rest = await reader.ReadToEndAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        Assert.Contains("Content-Type: application/json", rest);
        var body = rest[(rest.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        if (body.Contains("\r\n")) body = body.Split("\r\n")[1];   // a chunked body: size line, then the JSON
        var error = JsonSerializer.Deserialize(body, OpenAiJson.Default.ErrorResponse)!;
        Assert.Equal("invalid_request_error", error.Error.Type);
        Assert.Contains(message, error.Error.Message);
    }

    [Theory]
    [InlineData("POST", "/v1/models", "GET")]
    [InlineData("PUT", "/health", "GET")]
    [InlineData("DELETE", "/v1/models/shakespeare-char", "GET")]
    [InlineData("GET", "/v1/embeddings", "POST")]
    public async Task AKnownRouteWithTheWrongMethodIsA405WithAllow(string method, string path, string allow)
    {
        using var r = await server.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "GET" ? null : Json("{}") });
        Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
        Assert.Equal(allow, string.Join(", ", r.Content.Headers.Allow));
        Assert.Contains($"takes {allow}", (await Error(r)).Error.Message);
    }

    [Theory]
    [InlineData("application/jsonx", "must be application/json")]
    [InlineData(null, "Content-Type is missing")]
    public async Task OnlyJsonBodiesAreRead(string? contentType, string message)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"model":"shakespeare-char","prompt":"a"}"""));
        if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var r = await server.Http.PostAsync("/v1/completions", content);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        Assert.Contains(message, (await Error(r)).Error.Message);
    }

    [Fact]
    public async Task InvalidUtf8AndLoneSurrogatesAreToldApart()
    {
        var bad = new ByteArrayContent([.. Encoding.UTF8.GetBytes("""{"model":"shakespeare-char","prompt":"a"""), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}")]);
        bad.Headers.ContentType = new("application/json");
        using (var r = await server.Http.PostAsync("/v1/completions", bad))
            Assert.Contains("'prompt' is not valid UTF-8", (await Error(r)).Error.Message);
        using (var r = await server.Http.PostAsync("/v1/completions", Json("""{"model":"shakespeare-char","prompt":"a\ud800"}""")))
            Assert.Contains("unpaired surrogate escape", (await Error(r)).Error.Message);
    }

    [Fact]
    public async Task StreamedCompletionsReportUsageWhenAsked()
    {
        // The request is the typed record the server reads bodies into, serialized with its source-generated context.
        var request = new CompletionRequest { Model = ServerFixture.Lm, Prompt = ["ROMEO:"], MaxTokens = 7, Stream = true, StreamOptions = new(IncludeUsage: true), Seed = 1 };
        var body = JsonSerializer.Serialize(request, OpenAiRequestJson.Default.CompletionRequest);
        Assert.Equal("""{"prompt":["ROMEO:"],"model":"shakespeare-char","max_tokens":7,"seed":1,"stream":true,"stream_options":{"include_usage":true}}""", body);
        using var r = await server.Http.PostAsync("/v1/completions", Json(body));
        var events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonSerializer.Deserialize(e["data: ".Length..], OpenAiJson.Default.TextCompletion)!).ToArray();
        var last = chunks[^1];
        Assert.Empty(last.Choices);
        Assert.Equal(6, last.Usage!.PromptTokens);
        Assert.Equal(7, last.Usage.CompletionTokens);
        Assert.All(chunks[..^1], c => Assert.Null(c.Usage));
    }

    [Fact]
    public async Task AConversationLongerThanTheContextIsOpenAisContextLengthExceeded()
    {
        var worker = server.Models.FindLanguageModel(ServerFixture.Lm)!;
        var request = new ChatCompletionRequest
        {
            Model = ServerFixture.Lm,
            Messages = [.. Enumerable.Range(0, 12).Select(i => new ChatCompletionRequest.Message(i % 2 == 0 ? "user" : "assistant", new string('a', 30))), new("user", "and now?")],
        };
        using var r = await server.Http.PostAsync("/v1/chat/completions", Json(JsonSerializer.Serialize(request, OpenAiRequestJson.Default.ChatCompletionRequest)));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var e = await Error(r);
        Assert.Equal("context_length_exceeded", e.Error.Code);
        Assert.Equal("messages", e.Error.Param);

        // The same conversation through the same chat path with the chat command's policy: the oldest turns go, the reply comes.
        var messages = Enumerable.Range(0, 12).Select(i => new ChatMessage(i % 2 == 0 ? "user" : "assistant", new string('a', 30)))
            .Append(new ChatMessage("user", "and now?")).ToList();
        var prompt = worker.Chat.Encode(messages, reserve: 1, ContextPolicy.DropOldestTurns);
        Assert.True(prompt.DroppedTurns > 0);
        Assert.True(prompt.Tokens.Length < worker.Context);
        Assert.EndsWith("and now?\n\nASSISTANT:\n", prompt.Text);
    }

    [Fact]
    public async Task ImageRequestsAreQueuedWithABoundAndShownInHealth()
    {
        await using var images = await TestServer.StartAsync(new ServerOptions { Models = [CliRunner.Bundled(ServerFixture.Images)], MaxQueue = 2 });
        var http = images.Http;
        // One long generation occupies the model; while it runs, seven more arrive: two wait, five are refused.
        var first = http.PostAsync("/v1/images/generations", Json("""{"model":"fmnist-diffusion","prompt":"a bag","n":8,"steps":200}"""));
        Health? busy = null;
        for (int i = 0; i < 200 && busy is null; i++)
        {
            await Task.Delay(25);
            var h = JsonSerializer.Deserialize(await http.GetStringAsync("/health"), OpenAiJson.Default.Health)!;
            if (h.Models[0].Running == 1) busy = h;
        }
        Assert.NotNull(busy);
        Assert.Equal("image", busy.Models[0].Type);
        var body = """{"model":"fmnist-diffusion","prompt":"a bag","n":1,"steps":5}""";
        var calls = Enumerable.Range(0, 7).Select(_ => http.PostAsync("/v1/images/generations", Json(body))).Prepend(first).ToArray();
        var codes = (await Task.WhenAll(calls)).Select(r => (int)r.StatusCode).ToArray();
        Assert.Equal(3, codes.Count(c => c == 200));   // one running and two waiting; the rest are told to come back
        Assert.Equal(5, codes.Count(c => c == 429));
    }

    [Fact]
    public async Task ABurstFillsTheSlotsThenTheQueueThenGets429AndLowercaseBearerIsAccepted()
    {
        await using var small = await TestServer.StartAsync(new ServerOptions { Models = [CliRunner.Bundled(ServerFixture.Lm)], MaxBatch = 2, MaxQueue = 3, ApiKey = "k3y" });
        var http = small.Http;
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "bearer k3y");   // schemes are case-insensitive
        var body = """{"model":"shakespeare-char","prompt":"ROMEO:","max_tokens":100,"temperature":1,"seed":3}""";
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => http.PostAsync("/v1/completions", Json(body))));
        var codes = responses.Select(r => (int)r.StatusCode).ToArray();
        // Every slot and queue place is used (2 + 3; the old bound refused the 4th waiting request even with slots free),
        // and the rest is refused. On a loaded machine a request may finish before the last ones arrive and free its place.
        Assert.InRange(codes.Count(c => c == 200), 5, 9);
        Assert.Equal(10, codes.Count(c => c is 200 or 429));
        Assert.Contains(429, codes);
        foreach (var r in responses) r.Dispose();
    }
}
