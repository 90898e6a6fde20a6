using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Tests.Sampling;

public sealed class GenerationEngineTests
{
    internal static (LlamaForCausalLM Model, ITokenizer Tokenizer) Tiny(int context = 32, int? eos = null, int kvHeads = 2)
    {
        var tok = CharTokenizer.Train("abcdefghij \n.");
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            VocabSize = tok.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4, NumKvHeads = kvHeads,
            MaxPositions = context, EosTokenId = eos,
        });
        model.InitializeWeights(3);
        model.eval();
        return (model, tok);
    }

    // Greedy continuation recomputed with full forward passes (no cache).
    static List<int> GreedyNoCache(LlamaForCausalLM model, int[] prompt, int steps)
    {
        var ids = prompt.ToList();
        using var _ = no_grad();
        for (int i = 0; i < steps; i++)
            ids.Add((int)model.forward(tensor(ids.Select(t => (long)t).ToArray()).unsqueeze(0))[0, -1].argmax().item<long>());
        return ids.Skip(prompt.Length).ToList();
    }

    [Fact]
    public void GreedyWithCacheEqualsGreedyWithoutCacheTokenForToken()
    {
        var (model, tok) = Tiny();
        var pipeline = new TextGenerationPipeline(model, tok);
        var result = pipeline.Generate("abc d", new GenerationOptions { Temperature = 0, MaxTokens = 25 });
        Assert.Equal(GreedyNoCache(model, tok.Encode("abc d"), 25), result.Choices[0].Tokens);
        Assert.Equal(FinishReason.Length, result.Choices[0].Finish);
        Assert.Equal(new Usage(5, 25), result.Usage);
    }

    [Fact]
    public void BatchedPromptsOfDifferentLengthsEqualOneByOneGeneration()
    {
        var (model, tok) = Tiny(kvHeads: 1);   // grouped-query attention in the batched path too
        var pipeline = new TextGenerationPipeline(model, tok);
        string[] prompts = ["a", "bcd efg", "hij.\nab"];
        foreach (var options in new[] { new GenerationOptions { Temperature = 0, MaxTokens = 12 }, new GenerationOptions { Temperature = 1, TopK = 5, Seed = 4, N = 2, MaxTokens = 12 } })
        {
            var batched = pipeline.GenerateBatch(prompts, options);
            for (int i = 0; i < prompts.Length; i++)
            {
                var single = pipeline.Generate(prompts[i], options);
                Assert.Equal(single.Choices.Select(c => c.Text), batched[i].Choices.Select(c => c.Text));
            }
        }
    }

    [Fact]
    public void RaggedPromptsPrefillInOnePaddedPassWithEachPromptsOwnLogits()
    {
        var (model, tok) = Tiny(kvHeads: 1);
        int[][] prompts = [tok.Encode("abc d"), tok.Encode("ab"), tok.Encode("hij.\nab"), tok.Encode("j")];
        using var _ = no_grad();
        using var cache = new KvCache(model.Config, 6);
        int[] slots = [4, 1, 2, 5];   // not consecutive, not in order
        int T = prompts.Max(p => p.Length);
        var ids = tensor(prompts.SelectMany(p => p.Concat(Enumerable.Repeat(7, T - p.Length))).Select(t => (long)t).ToArray()).view(4, T);
        var batched = model.forward(ids, cache.Begin(slots, prompts.Select(p => p.Length).ToArray()), prompts.Select(p => (long)p.Length - 1).ToArray());
        Assert.Equal(new long[] { 4, model.Config.VocabSize }, batched.shape);
        for (int b = 0; b < 4; b++)
        {
            Assert.Equal(prompts[b].Length, cache.Length(slots[b]));   // the padding is not counted
            var alone = model.forward(tensor(prompts[b].Select(t => (long)t).ToArray()).unsqueeze(0))[0, -1];
            Assert.True(alone.allclose(batched[b], rtol: 0, atol: 1e-5), $"row {b}: max |Δ| {(alone - batched[b]).abs().max().item<float>()}");
        }
        // The next token of every row sees its own prompt only, never the padding written after the shorter ones.
        var next = model.forward(tensor(new long[] { 1, 2, 3, 4 }).view(4, 1), cache.Begin(slots, 1));
        for (int b = 0; b < 4; b++)
        {
            var alone = model.forward(tensor(prompts[b].Append(b + 1).Select(t => (long)t).ToArray()).unsqueeze(0))[0, -1];
            Assert.True(alone.allclose(next[b, 0], rtol: 0, atol: 1e-5), $"row {b} after prefill");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PromptsAddedTogetherShareAPrefillPassAndDecodeAsAlone(bool kernels)
    {
        var (model, tok) = Tiny(context: 48);
        var greedy = new GenerationOptions { Temperature = 0, MaxTokens = 15 };
        string[] prompts = ["abcd", "hij.a", "ja ja", "bbbbbb", "c"];
        using var engine = new GenerationEngine(model, tok, maxSequences: 6, kernels: new DecodeKernelOptions { Enabled = kernels });
        var seqs = prompts.Select(p => engine.Add(tok.Encode(p), greedy)[0]).ToArray();
        var first = engine.Step();
        Assert.Equal(prompts.Length, first.Count);
        Assert.True(seqs.All(s => s.Prefilled));
        Assert.Equal(kernels ? 1 : 2, engine.PrefillPasses);   // the kernels take all 21 tokens as rows; libtorch pads, so "c" goes alone
        while (engine.HasWork) engine.Step();
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(GreedyNoCache(model, tok.Encode(prompts[i]), 15), seqs[i].Tokens);
    }

    [Fact]
    public void SequencesJoinAndLeaveBetweenStepsWithoutDisturbingOthers()
    {
        var (model, tok) = Tiny();
        var greedy = new GenerationOptions { Temperature = 0, MaxTokens = 10 };
        using var engine = new GenerationEngine(model, tok, maxSequences: 2);
        var a = engine.Add(tok.Encode("abc"), greedy)[0];
        engine.Step(); engine.Step();
        var b = engine.Add(tok.Encode("ja"), greedy)[0];          // joins mid-flight
        engine.Step();
        Assert.Throws<InvalidOperationException>(() => engine.Add(tok.Encode("e"), greedy));   // both slots busy
        engine.Cancel(b);
        Assert.Equal(FinishReason.Cancelled, b.Finish);
        var c = engine.Add(tok.Encode("hhh"), greedy)[0];         // reuses b's slot
        while (engine.HasWork) engine.Step();
        Assert.Equal(GreedyNoCache(model, tok.Encode("abc"), 10), a.Tokens);
        Assert.Equal(GreedyNoCache(model, tok.Encode("hhh"), 10), c.Tokens);
        Assert.Equal(2, engine.FreeSlots);
    }

    [Fact]
    public void StopSequenceSplitAcrossTokensEndsGenerationAndIsNotEmitted()
    {
        var (model, tok) = Tiny();
        var pipeline = new TextGenerationPipeline(model, tok);
        var free = pipeline.Generate("abc", new GenerationOptions { Temperature = 0, MaxTokens = 20 }).Choices[0].Text;
        var stop = free.Substring(5, 3);                              // three characters = three tokens
        int first = free.IndexOf(stop, StringComparison.Ordinal);
        var stopped = pipeline.Generate("abc", new GenerationOptions { Temperature = 0, MaxTokens = 20, Stop = [stop] }).Choices[0];
        Assert.Equal(free[..first], stopped.Text);
        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.Equal(first + 3, stopped.Tokens.Count);                // generation ended at the token completing the stop
    }

    [Fact]
    public void EosEndsTheSequenceUnlessIgnored()
    {
        var (model, tok) = Tiny(eos: 0);
        var pipeline = new TextGenerationPipeline(model, tok);
        var forced = new GenerationOptions { Temperature = 0, MaxTokens = 5, LogitBias = new Dictionary<int, float> { [0] = 100 } };
        var r = pipeline.Generate("ab", forced);
        Assert.Equal(("", FinishReason.Stop, 1), (r.Choices[0].Text, r.Choices[0].Finish, r.Usage.CompletionTokens));
        r = pipeline.Generate("ab", forced with { IgnoreEos = true });
        Assert.Equal((5, FinishReason.Length), (r.Choices[0].Tokens.Count, r.Choices[0].Finish));
    }

    [Fact]
    public void LogprobsAreTheModelsLogSoftmaxWithSortedAlternatives()
    {
        var (model, tok) = Tiny();
        var r = new TextGenerationPipeline(model, tok).Generate("abc", new GenerationOptions { Temperature = 1, Seed = 2, MaxTokens = 4, Logprobs = true, TopLogprobs = 3 });
        var choice = r.Choices[0];
        var ids = tok.Encode("abc").Concat(choice.Tokens).Select(t => (long)t).ToArray();
        using var _ = no_grad();
        var logp = nn.functional.log_softmax(model.forward(tensor(ids).unsqueeze(0))[0], -1);
        for (int i = 0; i < 4; i++)
        {
            var lp = choice.Logprobs![i];
            Assert.Equal(choice.Tokens[i], lp.Token);
            Assert.Equal(logp[2 + i, lp.Token].item<float>(), lp.Logprob, 1e-4f);
            Assert.Equal(3, lp.Top.Count);
            Assert.True(lp.Top[0].Logprob >= lp.Top[1].Logprob && lp.Top[1].Logprob >= lp.Top[2].Logprob);
            Assert.Equal(logp[2 + i].max().item<float>(), lp.Top[0].Logprob, 1e-4f);
        }
    }

    [Fact]
    public void ContextLimitStopsOrSlidesAsConfigured()
    {
        var (model, tok) = Tiny(context: 16);
        var options = new GenerationOptions { Temperature = 0, MaxTokens = 40 };
        var stopped = new TextGenerationPipeline(model, tok).Generate("abcd", options).Choices[0];
        Assert.Equal((FinishReason.Length, 13), (stopped.Finish, stopped.Tokens.Count));   // 4 + 12 fed tokens fill 16, the 13th is the last
        Assert.Equal(GreedyNoCache(model, tok.Encode("abcd"), 13), stopped.Tokens);
        var slid = new TextGenerationPipeline(model, tok, ContextOverflow.Slide).Generate("abcd", options).Choices[0];
        Assert.Equal(40, slid.Tokens.Count);
        Assert.Equal(stopped.Tokens, slid.Tokens.Take(13));

        var e = Assert.Throws<ArgumentException>(() => new TextGenerationPipeline(model, tok).Generate(new string('a', 16), options));
        Assert.Contains("the prompt is 16 tokens but the model's context is 16 tokens", e.Message);
        e = Assert.Throws<ArgumentException>(() => new TextGenerationPipeline(model, tok).Generate("ab\uD800c", options));
        Assert.Contains("not valid Unicode", e.Message);
    }

    [Fact]
    public void DecodeStepsLeaveNoNativeTensorsBehind()
    {
        var (model, tok) = Tiny(context: 128);
        using var engine = new GenerationEngine(model, tok, maxSequences: 4);
        engine.Add(tok.Encode("abc"), new GenerationOptions { Seed = 1, MaxTokens = 100, N = 2, Logprobs = true, TopLogprobs = 2 });
        engine.Add(tok.Encode("hij"), new GenerationOptions { Seed = 2, MaxTokens = 100, RepetitionPenalty = 1.2 });
        for (int i = 0; i < 10; i++) engine.Step();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 80; i++) engine.Step();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
