using System.Net;
using System.Text;
using System.Text.Json;
using GenSharp.Server;
using GenSharp.Server.Hosting;
using GenSharp.Tests.Cli;
using Microsoft.AspNetCore.Builder;
using static TorchSharp.torch;

namespace GenSharp.Tests.Server;

/// <summary>Malformed and hostile requests, overload and disconnects against a real server on 127.0.0.1 (bounded, loopback only).</summary>
public sealed class AbuseTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    static IEnumerable<(string Path, HttpContent Content)> Malformed(Random rng)
    {
        string[] bodies =
        [
            "", "{", "[]", "null", "42", "\"x\"", "{\"model\":", "{\"model\":\"shakespeare-char\"}",
            """{"model":"shakespeare-char","messages":"hi"}""",
            """{"model":"shakespeare-char","messages":[]}""",
            """{"model":"shakespeare-char","messages":[{"role":"user"}]}""",
            """{"model":"shakespeare-char","messages":[{"role":"wizard","content":"x"}]}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"temperature":NaN}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"temperature":-1}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"temperature":1e999}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"top_p":0}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"max_tokens":-5}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"max_tokens":1e12}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"n":1000}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"stop":["","a"]}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"logit_bias":{"abc":1}}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"logit_bias":{"5":500}}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"x"}],"seed":"x"}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":[{"type":"image_url"}]}]}""",
            """{"model":"shakespeare-char","prompt":""}""",
            """{"model":"shakespeare-char","prompt":123}""",
            """{"model":"fmnist-diffusion","prompt":"a unicorn"}""",
            """{"model":"fmnist-diffusion","prompt":"a bag","n":0}""",
            """{"model":"fmnist-diffusion","prompt":"a bag","size":"13x13"}""",
            """{"model":"shakespeare-char","input":[]}""",
            """{"model":"shakespeare-char","messages":[{"role":"user","content":"\ud800"}]}""",
            new string('[', 200) + new string(']', 200),
        ];
        string[] paths = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/images/generations"];
        for (int i = 0; i < 1000; i++)
        {
            var path = paths[rng.Next(paths.Length)];
            HttpContent content = (i % 10) switch
            {
                0 => new ByteArrayContent([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]) { Headers = { ContentType = new("application/json") } },   // bad UTF-8
                1 => new StringContent("{\"model\":\"shakespeare-char\"}", Encoding.UTF8, "text/plain"),
                _ => Json(bodies[rng.Next(bodies.Length)]),
            };
            yield return (path, content);
        }
    }

    [Fact]
    public async Task AThousandMalformedRequestsGetFourHundredsAndTheServerStaysHealthy()
    {
        var statuses = new Dictionary<int, int>();
        var rng = new Random(1);
        var sem = new SemaphoreSlim(8);
        var tasks = Malformed(rng).Select(async request =>
        {
            await sem.WaitAsync();
            try
            {
                using var r = await server.Http.PostAsync(request.Path, request.Content);
                var body = await r.Content.ReadAsStringAsync();
                if ((int)r.StatusCode is not (>= 400 and < 500)) throw new Xunit.Sdk.XunitException($"{request.Path}: {(int)r.StatusCode} {body[..Math.Min(300, body.Length)]}");
                Assert.Contains("\"error\"", body);
                lock (statuses) statuses[(int)r.StatusCode] = statuses.GetValueOrDefault((int)r.StatusCode) + 1;
            }
            finally { sem.Release(); }
        }).ToArray();
        await Task.WhenAll(tasks);
        Assert.Equal(1000, statuses.Values.Sum());
        Assert.True(statuses.Keys.All(s => s is >= 400 and < 500), string.Join(", ", statuses.Select(p => $"{p.Key}: {p.Value}")));
        using var health = await server.Http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.All(server.Models.LanguageModels, w => Assert.Equal(0, w.Running));
    }

    [Fact]
    public async Task AnOversizedBodyIsRefusedBeforeItIsSent()
    {
        // Raw HTTP/1.1: announce 2 MB with Expect: 100-continue and send nothing more. The answer must be a 413 with an
        // error body, not "100 Continue". (A client that uploads anyway races the 413 against the connection close.)
        var uri = new Uri(server.Address);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        using var stream = tcp.GetStream();
        var head = $"POST /v1/completions HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Assert.Equal("HTTP/1.1 413 Payload Too Large", await reader.ReadLineAsync());
        var rest = await reader.ReadToEndAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        Assert.Contains("the limit is 1048576", rest);
    }

    [Fact]
    public async Task SixtyFourConcurrentStreamsComplete()
    {
        var tasks = Enumerable.Range(0, 64).Select(async i =>
        {
            var body = Json($$"""{"model":"shakespeare-char","prompt":"ROMEO:","max_tokens":16,"stream":true,"seed":{{i}}}""");
            using var r = await server.Http.PostAsync("/v1/completions", body);
            var text = await r.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.EndsWith("data: [DONE]\n\n", text);
            return text.Split("\n\n").Count(l => l.Contains("\"finish_reason\":\"length\""));
        }).ToArray();
        Assert.All(await Task.WhenAll(tasks), n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task ADisconnectMidStreamCancelsTheGenerationAndFreesItsSlot()
    {
        var worker = server.Models.FindLanguageModel(ServerFixture.Lm)!;
        using var cts = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = Json($$"""{"model":"shakespeare-char","prompt":"ROMEO:","max_tokens":{{worker.Context - 10}},"stream":true,"temperature":1}"""),
        };
        using var r = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var stream = await r.Content.ReadAsStreamAsync(cts.Token);
        var buf = new byte[256];
        Assert.True(await stream.ReadAsync(buf, cts.Token) > 0);   // generation is running
        Assert.Equal(1, worker.Running);
        cts.Cancel();
        r.Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (worker.Running > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, worker.Running);
    }

    [Fact]
    public async Task HostOriginApiKeyAndOverloadAreEnforced()
    {
        using (var req = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Host = "evil.example" } })
        using (var r = await server.Http.SendAsync(req)) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using (var req = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { { "Origin", "http://evil.example" } } })
        using (var r = await server.Http.SendAsync(req))
        {
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
            Assert.False(r.Headers.Contains("Access-Control-Allow-Origin"));
        }

        using (var r = await server.Http.GetAsync("/v1/chat/completions"))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
            Assert.Contains("takes POST", await r.Content.ReadAsStringAsync());
        }
        using (var r = await server.Http.GetAsync("/v2/nothing")) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);

        // A second server: an API key, one sequence slot and a queue of one.
        await using var second = await TestServer.StartAsync(new ServerOptions { Models = [CliRunner.Bundled(ServerFixture.Lm)], ApiKey = "s3cret", MaxBatch = 1, MaxQueue = 1 });
        var http = second.Http;
        using (var r = await http.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Contains("authentication_error", await r.Content.ReadAsStringAsync());
        }
        http.DefaultRequestHeaders.Authorization = new("Bearer", "s3cret");
        using (var r = await http.GetAsync("/v1/models")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);

        var body = """{"model":"shakespeare-char","prompt":"ROMEO:","max_tokens":100,"temperature":1}""";
        var calls = Enumerable.Range(0, 6).Select(_ => http.PostAsync("/v1/completions", Json(body))).ToArray();
        var responses = await Task.WhenAll(calls);
        var codes = responses.Select(r => (int)r.StatusCode).ToArray();
        Assert.Contains(200, codes);
        Assert.Contains(429, codes);
        var busy = responses.First(r => (int)r.StatusCode == 429);
        Assert.Equal("1", busy.Headers.GetValues("Retry-After").Single());
        foreach (var r in responses) r.Dispose();
    }
}
