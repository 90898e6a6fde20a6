using System.Diagnostics;
using System.Threading.Channels;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Server.Hosting;
using GenSharp.Tests.Cli;
using GenSharp.Tokenizers;

namespace GenSharp.Tests.Server;

/// <summary>The worker hands a streamed request its tokens in bursts (<see cref="LanguageModelWorker.StreamInterval"/>):
/// first and last token at once, nothing lost or reordered.</summary>
public sealed class StreamIntervalTests
{
    static (string Text, int Wakes, int Tokens, FinishReason? Finish, double Seconds) Stream(TimeSpan interval, int maxTokens)
    {
        var (model, tokenizer) = ModelDirectory.Load(CliRunner.Bundled());
        using var worker = new LanguageModelWorker("lm", model, tokenizer, ChatTemplate.Default, maxBatch: 4, maxQueue: 4) { StreamInterval = interval };
        var prompt = GenerationEngine.EncodePrompt(tokenizer, "ROMEO:", int.MaxValue);
        var sw = Stopwatch.StartNew();
        var events = worker.Submit(prompt, new GenerationOptions { MaxTokens = maxTokens, Temperature = 1, Seed = 7, IgnoreEos = true }, CancellationToken.None);
        return Read(events, sw).GetAwaiter().GetResult();
    }

    static async Task<(string, int, int, FinishReason?, double)> Read(ChannelReader<GenerationEvent> events, Stopwatch sw)
    {
        var text = new System.Text.StringBuilder();
        int wakes = 0, tokens = 0;
        FinishReason? finish = null;
        while (await events.WaitToReadAsync())
        {
            wakes++;
            while (events.TryRead(out var e))
            {
                Assert.Null(finish);   // nothing after the finish
                text.Append(e.Text);
                if (e.Token >= 0) tokens++;
                finish = e.Finish ?? finish;
            }
        }
        return (text.ToString(), wakes, tokens, finish, sw.Elapsed.TotalSeconds);
    }

    [Fact]
    public void ALongIntervalHandsOverTheFirstTokenThenTheRestWhenTheRequestFinishes()
    {
        var each = Stream(TimeSpan.Zero, 48);
        var held = Stream(TimeSpan.FromSeconds(30), 48);
        Assert.Equal((48, FinishReason.Length), (each.Tokens, each.Finish));
        Assert.Equal((each.Text, each.Tokens, each.Finish), (held.Text, held.Tokens, held.Finish));
        // One wake for the first token and one (a few, when the reader wakes while the burst is written) for the rest;
        // handing each step over as it comes would wake the reader about once per token.
        Assert.InRange(held.Wakes, 2, 4);
        Assert.True(held.Seconds < 15, $"the last token waited for the interval ({held.Seconds:F1} s)");
    }
}
