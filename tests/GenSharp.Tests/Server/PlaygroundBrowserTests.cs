using Microsoft.Playwright;

namespace GenSharp.Tests.Server;

/// <summary>The playground in a real browser (Debian's chromium, headless) against a real server.</summary>
public sealed class PlaygroundBrowserTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    const string Chromium = "/usr/bin/chromium";

    /// <summary>A headless chromium on the playground, its model list loaded.</summary>
    async Task<(IPlaywright, IBrowser, IPage)> Open()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: ./scripts/test.sh installs Debian's chromium");
        var pw = await Playwright.CreateAsync();
        var browser = await pw.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium, Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(server.Address + "/");
        await page.WaitForSelectorAsync("#chat-model option", new() { State = WaitForSelectorState.Attached });
        return (pw, browser, page);
    }

    public static string Artifact(string name)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    [Fact]
    public async Task ChatStreamsAThumbsUpIsStoredAndOutputIsNeverHtml()
    {
        var (pw, browser, page) = await Open();
        using var _ = pw;
        await using var __ = browser;
        await page.FillAsync("#seed", "4");
        // Count text updates of the answer while it streams.
        await page.EvaluateAsync("""
            () => { window.updates = 0; new MutationObserver(() => window.updates++).observe(document.getElementById('conversation'), { subtree: true, childList: true, characterData: true }); }
            """);
        // Markup in a message is shown as text (this model's characters do not include '<', so the server refuses it).
        var attack = "<img src=x onerror=\"document.title='pwned'\"> Who goes there?";
        await page.FillAsync("#prompt", attack);
        await page.ClickAsync("#send");
        await page.Locator("#error:not([hidden])").WaitForAsync();
        Assert.Contains("'<'", await page.Locator("#error").TextContentAsync());
        Assert.Equal(attack, await page.Locator(".message.user .text").First.TextContentAsync());
        Assert.Equal(0, await page.Locator("#conversation img").CountAsync());
        Assert.NotEqual("pwned", await page.TitleAsync());

        await page.FillAsync("#prompt", "Who goes there?");
        await page.ClickAsync("#send");
        var up = page.Locator("button[aria-label='Good answer']");
        await up.WaitForAsync(new() { Timeout = 60_000 });
        var answer = await page.Locator(".message.assistant .text").First.TextContentAsync();
        Assert.False(string.IsNullOrEmpty(answer));
        Assert.True(await page.EvaluateAsync<int>("() => window.updates") > 5, "the answer arrived in one piece, not streamed");

        await up.ClickAsync();
        await page.Locator("text=Thanks — saved.").WaitForAsync();
        await page.ScreenshotAsync(new() { Path = Artifact("playground-chat.png"), FullPage = true });
        var row = server.Feedback.All().Last(r => (string)r["kind"]! == "rating");
        Assert.Equal(1, (int)row["rating"]!);
        Assert.Equal(answer, (string)row["response"]!);
        Assert.Equal(ServerFixture.Lm, (string)row["model"]!);
        Assert.Equal("Who goes there?", (string)row["prompt"]![0]!["content"]!);
        Assert.Equal(4, (int)row["settings"]!["seed"]!);
    }

    [Fact]
    public async Task CompareModeStoresThePickedAnswerAndImagesRender()
    {
        var (pw, browser, page) = await Open();
        using var _ = pw;
        await using var __ = browser;
        await page.CheckAsync("#compare");
        await page.FillAsync("#prompt", "Speak!");
        await page.ClickAsync("#send");
        var second = page.Locator("button[aria-label='Answer 2 is better']");
        await second.WaitForAsync(new() { Timeout = 60_000 });
        var texts = await page.Locator(".pair .message .text").AllTextContentsAsync();
        Assert.Equal(2, texts.Count);
        await second.ClickAsync();
        await page.Locator("text=Preference saved.").WaitForAsync();
        var row = server.Feedback.All().Last(r => (string)r["kind"]! == "comparison");
        Assert.Equal(texts[1], (string)row["chosen"]!);
        Assert.Equal(texts[0], (string)row["rejected"]!);

        await page.ClickAsync("#tab-images");
        await page.FillAsync("#image-prompt", "a bag");
        await page.FillAsync("#image-n", "3");
        await page.ClickAsync("#draw");
        await page.Locator("#gallery img").Nth(2).WaitForAsync(new() { Timeout = 60_000 });
        Assert.Equal("generated image: a bag", await page.Locator("#gallery img").First.GetAttributeAsync("alt"));
        Assert.Equal(112, await page.EvaluateAsync<int>("() => document.querySelector('#gallery img').naturalWidth"));
        await page.ScreenshotAsync(new() { Path = Artifact("playground-images.png"), FullPage = true });
    }
}
