using System.Net;
using System.Text;
using System.Text.Json;
using GenSharp.Rag.Index;
using GenSharp.Rag.Ingest;
using GenSharp.Server;
using GenSharp.Server.Hosting;
using GenSharp.Tests.Rag;
using Microsoft.Playwright;

namespace GenSharp.Tests.Server;

/// <summary>Answers from documents over HTTP and in the playground: a real server, a real index, a real model trained to cite.</summary>
public sealed class RagServerTests : TempDirectoryTest
{
    static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task TheServerAnswersFromItsDocumentsWithSourcesAndThePlaygroundLinksThem()
    {
        var model = RagFixtures.TrainCiter(_dir, 1);   // answers "[1] [1] …"
        var docs = Path.Combine(_dir, "docs");
        Directory.CreateDirectory(docs);
        File.WriteAllText(Path.Combine(docs, "cp.md"), "# cp\nCopy files with cp. Use -r for directories.");
        File.WriteAllText(Path.Combine(docs, "ls.md"), "# ls\nList directory contents with ls. Sort by time with -t.");
        File.WriteAllText(Path.Combine(docs, "secret.md"), "# secret\nThe other tenant's directory notes.");
        var index = Path.Combine(_dir, "index");
        using (var idx = RagIndex.Open(index))
        {
            Ingestor.Ingest(idx, [Path.Combine(docs, "cp.md"), Path.Combine(docs, "ls.md")], new IngestOptions { Tenant = "acme" });
            Ingestor.Ingest(idx, [Path.Combine(docs, "secret.md")], new IngestOptions { Tenant = "other" });
        }
        using var documents = new RagService(RagIndex.Open(index), null, tenant: "acme");
        await using var server = await TestServer.StartAsync(new ServerOptions { Models = [model] }, documents: documents);

        var status = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/rag")).RootElement;
        Assert.True(status.GetProperty("enabled").GetBoolean());
        Assert.Equal(2, status.GetProperty("files").GetInt32());
        Assert.Equal("bm25", status.GetProperty("mode").GetString());

        var res = await server.Http.PostAsync("/v1/rag/answers", Json("""{"model": "citer", "question": "copy directories", "k": 1, "max_tokens": 8, "temperature": 0}"""));
        var body = await res.Content.ReadAsStringAsync();
        Assert.True(res.IsSuccessStatusCode, body);
        var answer = JsonDocument.Parse(body).RootElement;
        Assert.Contains("[1]", answer.GetProperty("answer").GetString());
        var source = answer.GetProperty("sources")[0];
        Assert.Equal(Path.Combine(docs, "cp.md"), source.GetProperty("source").GetString());
        Assert.True(source.GetProperty("cited").GetBoolean());
        Assert.True(answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 100);
        // The tenant is the server's: "directory" matches the other tenant's file too, never returned.
        var wide = JsonDocument.Parse(await (await server.Http.PostAsync("/v1/rag/answers", Json("""{"model": "citer", "question": "the other tenant directory notes", "k": 1, "max_tokens": 4}"""))).Content.ReadAsStringAsync()).RootElement;
        Assert.StartsWith(docs, wide.GetProperty("sources")[0].GetProperty("source").GetString());
        Assert.DoesNotContain(wide.GetProperty("sources").EnumerateArray(), s => s.GetProperty("source").GetString()!.EndsWith("secret.md"));

        // Source files: only those the served tenant holds.
        var file = await server.Http.GetAsync(source.GetProperty("url").GetString());
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Contains("Use -r for directories", await file.Content.ReadAsStringAsync());
        foreach (var path in new[] { Path.Combine(docs, "secret.md"), "/etc/passwd", Path.Combine(docs, "..", "docs", "cp.md") })
            Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("/v1/rag/documents?source=" + Uri.EscapeDataString(path))).StatusCode);

        // Bad requests name the field.
        foreach (var (json, field) in new[]
        {
            ("""{"model": "citer", "question": "x", "k": 0}""", "k"), ("""{"model": "citer", "question": "x", "mode": "fuzzy"}""", "mode"),
            ("""{"model": "citer", "question": "x", "mode": "dense"}""", "mode"), ("""{"model": "citer", "question": "  "}""", "question"),
            ("""{"model": "citer", "question": "x", "stream": true}""", "stream"), ("""{"model": "nope", "question": "x"}""", "model"),
        })
        {
            var bad = await server.Http.PostAsync("/v1/rag/answers", Json(json));
            Assert.InRange((int)bad.StatusCode, 400, 404);
            Assert.Equal(field, JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
        }

        // The playground: "Answer from documents" appears, the answer comes with its numbered, linked sources.
        Assert.True(File.Exists("/usr/bin/chromium"), "/usr/bin/chromium is missing: ./scripts/test.sh installs Debian's chromium");
        using var pw = await Playwright.CreateAsync();
        await using var browser = await pw.Chromium.LaunchAsync(new()
        {
            ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(server.Address + "/");
        await page.WaitForSelectorAsync("#docs-option:not([hidden])");
        await page.CheckAsync("#use-docs");
        await page.FillAsync("#temperature", "0");
        await page.FillAsync("#max-tokens", "12");
        await page.FillAsync("#prompt", "how do I list a directory by time?");
        await page.ClickAsync("#send");
        await page.WaitForSelectorAsync(".sources li a");
        var shown = await page.InnerTextAsync(".message.assistant .text");
        Assert.NotEmpty(shown);
        var links = await page.Locator(".sources li a").AllInnerTextsAsync();
        Assert.Equal("ls.md · ls", links[0]);
        Assert.Equal(shown.Contains("[1]") ? "cited" : null, await page.Locator(".sources li").First.GetAttributeAsync("class"));
        await page.ScreenshotAsync(new() { Path = PlaygroundBrowserTests.Artifact("playground-rag.png"), FullPage = true });
        var popup = await page.Context.RunAndWaitForPageAsync(() => page.Locator(".sources li a").First.ClickAsync());
        await popup.WaitForLoadStateAsync();
        Assert.Contains("Sort by time with -t.", await popup.ContentAsync());
    }

    [Fact]
    public async Task AServerWithoutDocumentsSaysSo()
    {
        await using var server = await TestServer.StartAsync(new ServerOptions { Models = [CliRunnerModel()] });
        Assert.False(JsonDocument.Parse(await server.Http.GetStringAsync("/v1/rag")).RootElement.GetProperty("enabled").GetBoolean());
        var res = await server.Http.PostAsync("/v1/rag/answers", Json("""{"model": "shakespeare-char", "question": "x"}"""));
        Assert.Equal(HttpStatusCode.NotFound, res.StatusCode);
        Assert.Contains("--rag-index", await res.Content.ReadAsStringAsync());
    }

    static string CliRunnerModel() => Cli.CliRunner.Bundled();
}
