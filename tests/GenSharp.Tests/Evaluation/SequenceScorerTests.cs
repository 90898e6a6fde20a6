using GenSharp.Evaluation;
using GenSharp.Tests.Sampling;
using static TorchSharp.torch;

namespace GenSharp.Tests.Evaluation;

public sealed class SequenceScorerTests
{
    [Fact]
    public void ScoreIsTheSumOfTheContinuationsLogProbabilities()
    {
        var (model, tok) = GenerationEngineTests.Tiny();
        var s = SequenceScorer.Score(model, tok, "abc", "de");
        // By hand: log p(d | abc) + log p(e | abcd), each from its own forward pass.
        using var _ = no_grad();
        float LogP(string context, char next) =>
            nn.functional.log_softmax(model.forward(tensor(tok.Encode(context).Select(t => (long)t).ToArray()).unsqueeze(0))[0, -1], -1)[tok.Encode(next.ToString())[0]].item<float>();
        double expected = LogP("abc", 'd') + LogP("abcd", 'e');
        Assert.Equal(expected, s.LogLikelihood, 4);
        Assert.Equal(2, s.Count);
        Assert.Equal(Math.Exp(-expected / 2), s.Perplexity, 4);
        Assert.Throws<ArgumentException>(() => SequenceScorer.Score(model, tok, "", "de"));
        Assert.Contains("exceed the model's context", Assert.Throws<ArgumentException>(() => SequenceScorer.Score(model, tok, new string('a', 30), "abcd")).Message);
    }
}
