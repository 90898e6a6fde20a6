using GenSharp.Models;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>
/// Text → vector: the mean of a language model's final hidden states over the text's tokens. A stand-in until a
/// dedicated embedding model exists; similar texts get similar vectors only as far as the LM's features allow.
/// </summary>
public sealed class TextEmbeddingPipeline(LlamaForCausalLM model, ITokenizer tokenizer) : ITextEmbedder
{
    public int Dimensions => model.Config.HiddenSize;

    /// <summary>Token ids of <paramref name="text"/>, checked to be non-empty and to fit the context.</summary>
    public int[] Encode(string text)
    {
        var ids = tokenizer.Encode(text);
        if (ids.Length == 0) throw new ArgumentException("the text to embed is empty");
        if (ids.Length > model.Config.MaxPositions) throw new ArgumentException($"the text is {ids.Length} tokens; the model's context is {model.Config.MaxPositions}");
        return ids;
    }

    public float[] Embed(int[] ids)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var device = model.parameters().First().device;
        var h = model.HiddenStates(tensor(ids.Select(t => (long)t).ToArray(), device: device).unsqueeze(0));   // (1, T, C)
        return h.mean([1]).squeeze(0).cpu().data<float>().ToArray();                                        // (C)
    }

    public float[] Embed(string text) => Embed(Encode(text));

    public float[][] Embed(IReadOnlyList<string> texts) => [.. texts.Select(Embed)];
}
