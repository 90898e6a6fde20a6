namespace GenSharp.Models;

/// <summary>
/// GGML's q8_0 for a language model: every projection and the output matrix in blocks of 32 weights with one fp16 scale
/// (w ≈ q·d, q = round(w/d), d = max|w|/127). <see cref="Apply"/> replaces the model's fp32 weights by the dequantized
/// values — what libtorch then computes with (prefill, evaluation) — and keeps the int8 blocks for the decode kernels,
/// so both compute the same function and a perplexity measured after it is the int8 model's. Quantizing dequantized
/// weights again gives the same blocks, so a quantized directory re-opened is the same model.
/// </summary>
public static class Int8Weights
{
    /// <summary>Quantizes <paramref name="model"/> in place (once; later calls change nothing). Not for a model still training.</summary>
    public static void Apply(LlamaForCausalLM model)
    {
        if (LlamaCpuDecoder.Unsupported(model) is { } why) throw new ArgumentException($"int8 weights need GenSharp's CPU kernels, which cannot run this model: {why}");
        LlamaCpuDecoder.QuantizeInt8(model);
    }

    /// <summary>Whether <see cref="Apply"/> ran on this model (its engines then decode in int8).</summary>
    public static bool IsApplied(LlamaForCausalLM model) => LlamaCpuDecoder.IsInt8(model);

    /// <summary>
    /// The state-dict names of the matrices held as q8_0 blocks: the q/k/v/o and gate/up/down projections and the output
    /// matrix (the embedding when tied), each when its in_features is a multiple of 32.
    /// </summary>
    public static IReadOnlyList<string> Names(LlamaForCausalLM model)
    {
        string head = model.Config.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
        return [.. model.named_parameters()
            .Where(p => (p.name == head || p.name.StartsWith("model.layers.") && p.name.EndsWith("_proj.weight")) && p.parameter.shape[1] % Numerics.Q8Matrix.Block == 0)
            .Select(p => p.name)];
    }
}
