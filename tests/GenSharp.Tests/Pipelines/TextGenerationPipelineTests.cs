using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Pipelines;

public sealed class TextGenerationPipelineTests
{
    static (LlamaForCausalLM, ITokenizer) Model()
    {
        var tok = CharTokenizer.Train("abcdefgh \n");
        var model = new LlamaForCausalLM(new LlamaConfig { VocabSize = tok.VocabSize, HiddenSize = 16, IntermediateSize = 32, NumLayers = 1, NumHeads = 2, NumKvHeads = 2, MaxPositions = 8 });
        model.InitializeWeights(3);
        return (model, tok);
    }

    [Fact]
    public void GreedyGenerationFollowsTheArgmaxBeyondTheContext()
    {
        var (model, tok) = Model();
        var text = string.Concat(new TextGenerationPipeline(model, tok).Generate("abc", 20, new SamplingOptions { Temperature = 0 }));
        Assert.Equal(20, text.Length);   // longer than the 8-token context: the window slides

        // Recompute the same continuation by hand with explicit argmax over the last 8 tokens.
        var ids = tok.Encode("abc").ToList();
        using (no_grad())
            for (int i = 0; i < 20; i++)
            {
                var window = ids.Skip(Math.Max(0, ids.Count - 8)).Select(t => (long)t).ToArray();
                ids.Add((int)model.forward(tensor(window).unsqueeze(0))[0, -1].argmax().item<long>());
            }
        Assert.Equal(tok.Decode(ids.Skip(3)), text);
    }

    [Fact]
    public void SeededSamplingReproducesAndEmptyPromptIsRejected()
    {
        var (model, tok) = Model();
        var p = new TextGenerationPipeline(model, tok);
        var opts = new SamplingOptions { Temperature = 1, TopK = 3, Seed = 11 };
        Assert.Equal(string.Concat(p.Generate("a", 15, opts)), string.Concat(p.Generate("a", 15, opts)));
        Assert.Throws<ArgumentException>(() => p.Generate("", 5, opts));   // eagerly, before enumeration
    }
}
