using GenSharp.Pipelines;
using GenSharp.Sampling;
using static TorchSharp.torch;

namespace GenSharp.Tests.Sampling;

public sealed class BeamSearchTests
{
    [Fact]
    public void EnoughBeamsFindTheBestTwoTokenContinuationByExhaustiveSearch()
    {
        var (model, tok) = GenerationEngineTests.Tiny();
        int[] prompt = tok.Encode("abc");
        int v = model.Config.VocabSize;
        Assert.True(v <= GenerationOptions.MaxBeams);
        double best = double.NegativeInfinity;
        (int, int) arg = default;
        using (no_grad())
        {
            Tensor LogP(IEnumerable<int> ids) => nn.functional.log_softmax(model.forward(tensor(ids.Select(t => (long)t).ToArray()).unsqueeze(0))[0, -1], -1);
            var first = LogP(prompt);
            for (int a = 0; a < v; a++)
            {
                var second = LogP(prompt.Append(a));
                for (int b = 0; b < v; b++)
                {
                    double s = first[a].item<float>() + second[b].item<float>();
                    if (s > best) (best, arg) = (s, (a, b));
                }
            }
        }
        var hyps = BeamSearch.Run(model, tok, prompt, new GenerationOptions { Beams = v, MaxTokens = 2, LengthPenalty = 0 });
        Assert.Equal([arg.Item1, arg.Item2], hyps[0].Tokens);
        Assert.Equal(best, hyps[0].SumLogprob, 4);
    }

    [Fact]
    public void OneBeamIsGreedyAndBeamsReturnNDistinctRankedChoices()
    {
        var (model, tok) = GenerationEngineTests.Tiny();
        var p = new TextGenerationPipeline(model, tok);
        var greedy = p.Generate("abc", new GenerationOptions { Temperature = 0, MaxTokens = 8 }).Choices[0].Tokens;
        Assert.Equal(greedy, BeamSearch.Run(model, tok, tok.Encode("abc"), new GenerationOptions { Beams = 1, MaxTokens = 8 })[0].Tokens);
        var r = p.Generate("abc", new GenerationOptions { Beams = 4, N = 3, MaxTokens = 8 });
        Assert.Equal(3, r.Choices.Count);
        Assert.Equal(3, r.Choices.Select(c => c.Text).Distinct().Count());
        Assert.True(r.Choices[0].BeamScore >= r.Choices[1].BeamScore && r.Choices[1].BeamScore >= r.Choices[2].BeamScore);
    }
}
