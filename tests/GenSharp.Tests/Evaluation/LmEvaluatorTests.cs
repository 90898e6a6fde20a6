using GenSharp.Evaluation;
using GenSharp.Models;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Evaluation;

public sealed class LmEvaluatorTests
{
    [Fact]
    public void UniformModelScoresExactlyLogVocab()
    {
        // With every weight zero the logits are all zero: each token costs ln V nats, perplexity V.
        var tok = CharTokenizer.Train("abcdefgh");
        using var model = new LlamaForCausalLM(new LlamaConfig { VocabSize = 8, HiddenSize = 16, IntermediateSize = 32, NumLayers = 1, NumHeads = 2, NumKvHeads = 2, MaxPositions = 8 });
        using (no_grad()) foreach (var p in model.parameters()) p.zero_();
        var text = "abcdefghhgfedcbaabcabcab";   // 24 chars: 23 scored tokens, windows of 8, 8, 7
        var r = LmEvaluator.Evaluate(model, tok, text, batchSize: 2);
        Assert.Equal(23, r.Tokens);
        Assert.Equal(24, r.Characters);
        Assert.Equal(Math.Log(8), r.Loss, 5);
        Assert.Equal(8, r.Perplexity, 4);
        Assert.Equal(3, r.BitsPerToken, 5);
        Assert.Equal(3.0 * 23 / 24, r.BitsPerCharacter, 5);
    }

    [Fact]
    public void TooShortTextIsRejected()
    {
        var tok = CharTokenizer.Train("ab");
        using var model = new LlamaForCausalLM(new LlamaConfig { VocabSize = 2, HiddenSize = 8, IntermediateSize = 16, NumLayers = 1, NumHeads = 2, NumKvHeads = 2, MaxPositions = 4 });
        Assert.Contains("at least 2", Assert.Throws<ArgumentException>(() => LmEvaluator.Evaluate(model, tok, "a")).Message);
    }
}
