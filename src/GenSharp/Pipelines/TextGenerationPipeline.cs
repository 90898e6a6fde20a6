using GenSharp.Models;
using GenSharp.Sampling;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>
/// Prompt in, streamed text out. Each step re-reads the last context-length tokens (no KV cache yet);
/// text is emitted only at complete UTF-8 characters.
/// </summary>
public sealed class TextGenerationPipeline(LlamaForCausalLM model, ITokenizer tokenizer)
{
    /// <summary>Yields text pieces as tokens are generated. Bad arguments throw here, before anything is yielded.</summary>
    public IEnumerable<string> Generate(string prompt, int maxTokens, SamplingOptions sampling)
    {
        if (maxTokens < 0) throw new ArgumentException($"max tokens must be ≥ 0 (got {maxTokens})");
        sampling.Validate();
        var ids = tokenizer.Encode(prompt).ToList();
        if (ids.Count == 0)
            throw new ArgumentException("the prompt is empty; give at least one character for the model to continue");
        return Stream(ids, maxTokens, sampling);
    }

    IEnumerable<string> Stream(List<int> ids, int maxTokens, SamplingOptions sampling)
    {
        var device = model.parameters().First().device;
        var decoder = new StreamingDecoder(tokenizer);
        using var sampler = new TokenSampler(sampling);
        model.eval();
        for (int i = 0; i < maxTokens; i++)
        {
            int next = NextToken(ids, sampler, device);   // scope lives inside, never across yield
            ids.Add(next);
            var piece = decoder.Push(next);
            if (piece.Length > 0) yield return piece;
        }
        var rest = decoder.Flush();
        if (rest.Length > 0) yield return rest;
    }

    int NextToken(List<int> ids, TokenSampler sampler, Device device)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        int ctx = model.Config.MaxPositions;
        var window = ids.Count > ctx ? ids.GetRange(ids.Count - ctx, ctx) : ids;
        var x = tensor(window.Select(i => (long)i).ToArray()).unsqueeze(0).to(device);   // (1, T)
        var logits = model.forward(x)[0, -1];                                              // (V)
        return (int)sampler.Sample(logits).item<long>();
    }
}
