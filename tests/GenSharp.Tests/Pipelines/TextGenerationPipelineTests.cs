using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tests.Sampling;

namespace GenSharp.Tests.Pipelines;

public sealed class TextGenerationPipelineTests
{
    [Fact]
    public void StreamedChunksAddUpToTheGeneratedTextWithFinishAndUsageLast()
    {
        var (model, tok) = GenerationEngineTests.Tiny();
        var p = new TextGenerationPipeline(model, tok);
        var options = new GenerationOptions { Temperature = 0.9, Seed = 8, MaxTokens = 15 };
        var chunks = p.Stream("ab", options).ToList();
        Assert.Equal(p.Generate("ab", options).Choices[0].Text, string.Concat(chunks.Select(c => c.Text)));
        Assert.All(chunks[..^1], c => Assert.Null(c.Finish));
        Assert.Equal((FinishReason.Length, new Usage(2, 15)), (chunks[^1].Finish!.Value, chunks[^1].Usage!));
    }

    [Fact]
    public async Task AsyncStreamMatchesTheSyncStreamAndHonoursNSamples()
    {
        var (model, tok) = GenerationEngineTests.Tiny();
        var p = new TextGenerationPipeline(model, tok);
        var options = new GenerationOptions { Temperature = 1, Seed = 3, MaxTokens = 10, N = 3 };
        var texts = new string[3];
        await foreach (var c in p.StreamAsync("abc", options)) texts[c.Index] += c.Text;
        Assert.Equal(p.Generate("abc", options).Choices.Select(c => c.Text), texts);
    }

    [Fact]
    public void CancellationStopsBeforeTheNextDecodeStep()
    {
        var (model, tok) = GenerationEngineTests.Tiny();
        using var cts = new CancellationTokenSource();
        var received = 0;
        var stream = new TextGenerationPipeline(model, tok).Stream("abc", new GenerationOptions { Temperature = 0, MaxTokens = 25 }, cts.Token);
        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (var _ in stream)
                if (++received == 3) cts.Cancel();   // one chunk per step with a character tokenizer
        });
        Assert.Equal(3, received);                   // no step ran after the cancellation
    }

    [Fact]
    public void BadArgumentsThrowBeforeAnythingRuns()
    {
        var (model, tok) = GenerationEngineTests.Tiny();
        var p = new TextGenerationPipeline(model, tok);
        Assert.Throws<ArgumentException>(() => p.Stream("", new GenerationOptions()));
        Assert.Throws<ArgumentException>(() => p.Stream("ab", new GenerationOptions { TopP = 0 }));
        Assert.Throws<ArgumentException>(() => p.Stream("ab", new GenerationOptions { Beams = 2, MaxTokens = 0 }));
    }
}
