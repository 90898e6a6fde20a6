using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Server;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;
using Microsoft.Playwright;

namespace GenSharp.Tests.Server;

/// <summary>
/// The feedback loop end to end: a real server and browser, picks clicked in the playground's compare mode by a planted
/// rule (an answer in the first person — with the word "I" — beats one without; a pair where both or neither are is
/// skipped, as a user would; each round has its own seed, so the test is reproducible), <c>gensharp align dpo --feedback</c> on the store the running server writes, and fresh
/// samples of the new model follow the rule more often than the served model's did. Then the adapter is served.
/// </summary>
public sealed class FeedbackLoopBrowserTests(Xunit.Abstractions.ITestOutputHelper log) : TempDirectoryTest
{
    const string Chromium = "/usr/bin/chromium";
    static readonly string[] Prompts = ["Speak!", "Who goes there?", "What news?", "Good morrow.", "Where is the king?", "Why dost thou weep?"];
    static readonly GenerationOptions Playground = new() { Temperature = 0.8, TopP = 0.95, MaxTokens = 80 };
    static readonly System.Text.RegularExpressions.Regex FirstPerson = new(@"\bI\b");

    [Fact]
    public async Task PicksClickedInThePlaygroundTeachDpoTheRuleBehindThem()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: ./scripts/test.sh installs Debian's chromium");
        var run = Path.Combine(_dir, "dpo");
        int picks = 0;
        await using (var server = await TestServer.StartAsync(new ServerOptions { Models = [CliRunner.Bundled()], MaxBatch = 4 }))
        {
            var (pw, browser, page) = await Open(server.Address);
            using var playwright = pw;
            await using var chromium = browser;
            await page.CheckAsync("#compare");
            await page.FillAsync("#max-tokens", Playground.MaxTokens.ToString());
            for (int round = 0; picks < 24 && round < 90; round++)
            {
                await page.ClickAsync("#reset");
                await page.FillAsync("#seed", round.ToString());   // each round's pair is reproducible, so the test's outcome is too
                await page.FillAsync("#prompt", Prompts[round % Prompts.Length]);
                await page.ClickAsync("#send");
                try { await page.Locator("button[aria-label='Answer 2 is better']").WaitForAsync(new() { Timeout = 60_000 }); }
                catch (TimeoutException)
                {
                    await page.ScreenshotAsync(new() { Path = PlaygroundBrowserTests.Artifact("feedback-loop-timeout.png"), FullPage = true });
                    Assert.Fail($"round {round}: no pair to pick from; the playground shows: {await page.Locator("#error").TextContentAsync()}");
                }
                var texts = await page.Locator(".pair .message .text").AllTextContentsAsync();
                bool first = FirstPerson.IsMatch(texts[0]), second = FirstPerson.IsMatch(texts[1]);
                if (first == second) continue;   // the rule does not tell them apart: no pick
                if (picks == 0) await page.ScreenshotAsync(new() { Path = PlaygroundBrowserTests.Artifact("feedback-loop-compare.png"), FullPage = true });
                await page.ClickAsync($"button[aria-label='Answer {(first ? 1 : 2)} is better']");
                await page.Locator("text=Preference saved.").WaitForAsync();
                picks++;
            }
            Assert.True(picks >= 16, $"only {picks} rounds had exactly one first-person answer");

            // DPO straight from the store the running server writes.
            var (code, output, err) = CliRunner.Run(null, "align", "dpo", "--model", CliRunner.Bundled(), "--feedback", server.FeedbackDb, "--out", run,
                "--method", "lora", "--beta", "0.1", "--steps", "60", "--batch-size", "8", "--lr", "1e-3", "--eval-fraction", "0.1", "--threads", "2");
            Assert.True(code == 0, output + err);
            Assert.Contains($"{picks} preference pair(s) from", err);
            Assert.True(File.Exists(Path.Combine(run, "feedback-pairs.jsonl")), "the picks are copied into the run");
        }

        // Fresh samples (other seeds than anything clicked) from the served model and from the aligned one.
        double before = FirstPersonRate(AutoPipeline.OpenChat(CliRunner.Bundled())), after = FirstPersonRate(AutoPipeline.OpenChat(CliRunner.Bundled(), adapter: run));
        log.WriteLine($"{picks} picks; first-person answers {before:P0} → {after:P0}");
        Assert.True(after >= before + 0.15, $"first-person answers: {before:P0} from the served model, {after:P0} after DPO on the clicked picks");

        // The aligned model is served again, as an adapter beside its base, and answers in the playground.
        await using var again = await TestServer.StartAsync(new ServerOptions { Models = [CliRunner.Bundled()] }, [("aligned", run)]);
        var (pw2, browser2, page2) = await Open(again.Address);
        using var _ = pw2;
        await using var __ = browser2;
        await page2.SelectOptionAsync("#chat-model", "aligned");
        await page2.FillAsync("#max-tokens", Playground.MaxTokens.ToString());
        // A sampled answer may be empty (the end token first: a valid answer, seen in CI); of three, one must have text. Each
        // try is a new chat: a second turn of this 128-token model would not leave room for 80 new tokens (a 400, no answer).
        var answers = new List<string>();
        for (int i = 0; i < 3 && answers.All(string.IsNullOrEmpty); i++)
        {
            if (i > 0) await page2.ClickAsync("#reset");
            await page2.FillAsync("#prompt", "Who goes there?");
            await page2.ClickAsync("#send");
            await page2.Locator("button[aria-label='Good answer']").First.WaitForAsync(new() { Timeout = 60_000 });
            answers.Add(await page2.Locator(".message.assistant .text").First.TextContentAsync() ?? "");
        }
        Assert.False(answers.All(string.IsNullOrEmpty), $"the aligned adapter's {answers.Count} answers in the playground were all empty");
        await page2.ScreenshotAsync(new() { Path = PlaygroundBrowserTests.Artifact("feedback-loop-aligned.png"), FullPage = true });
    }

    static async Task<(IPlaywright, IBrowser, IPage)> Open(string address)
    {
        var pw = await Playwright.CreateAsync();
        var browser = await pw.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium, Headless = true, Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(address + "/");
        await page.WaitForSelectorAsync("#chat-model option", new() { State = WaitForSelectorState.Attached });
        return (pw, browser, page);
    }

    static double FirstPersonRate(ChatPipeline chat)
    {
        var answers = Prompts.SelectMany(p => chat.Complete([new ChatMessage("user", p)], Playground with { N = 12, Seed = 777 }).Choices).ToList();
        chat.Text.Model.Dispose();
        return answers.Count(c => FirstPerson.IsMatch(c.Text)) / (double)answers.Count;
    }
}
