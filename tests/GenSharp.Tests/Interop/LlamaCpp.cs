using GenSharp.Models;
using LLama;
using LLama.Common;
using LLama.Native;
using static TorchSharp.torch;

namespace GenSharp.Tests.Interop;

/// <summary>A real llama.cpp (LLamaSharp's prebuilt CPU backend) driven token by token: its tokenizer, its logits, its greedy choices.</summary>
sealed class LlamaCpp : IDisposable
{
    static LlamaCpp() => NativeLibraryConfig.All.WithLogCallback((_, _) => { });   // quiet: llama.cpp logs every tensor it loads

    readonly LLamaWeights _weights;
    readonly LLamaContext _context;

    public LlamaCpp(string gguf, int context = 256)
    {
        var p = new ModelParams(gguf) { ContextSize = (uint)context, BatchSize = (uint)context, Threads = 2, GpuLayerCount = 0,
                                       TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false };
        // An fp32 cache and plain attention: the CPU flash-attention kernel rounds through fp16 (2e-3 on these logits, against 3e-6 without).
        _weights = LLamaWeights.LoadFromFile(p);
        _context = _weights.CreateContext(p);
    }

    public int[] Tokenize(string text) => [.. _context.Tokenize(text, addBos: false, special: true).Select(t => (int)t)];

    /// <summary>The logits after <paramref name="prompt"/> (a fresh sequence), then <paramref name="steps"/> greedy tokens.</summary>
    public (float[] Logits, int[] Greedy) Run(IReadOnlyList<int> prompt, int steps)
    {
        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Count; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        Decode(batch);
        var first = _context.NativeHandle.GetLogitsIth(batch.TokenCount - 1).ToArray();
        var greedy = new List<int>();
        var logits = first;
        for (int s = 0; s < steps; s++)
        {
            int next = Array.IndexOf(logits, logits.Max());
            greedy.Add(next);
            batch.Clear();
            batch.Add(next, prompt.Count + s, LLamaSeqId.Zero, true);
            Decode(batch);
            logits = _context.NativeHandle.GetLogitsIth(0).ToArray();
        }
        return (first, [.. greedy]);
    }

    void Decode(LLamaBatch batch)
    {
        var result = _context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed: {result}");
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }

    /// <summary>GenSharp's logits at the last position of <paramref name="ids"/> (the side llama.cpp is compared with).</summary>
    public static float[] Logits(LlamaForCausalLM model, IReadOnlyList<int> ids)
    {
        using var _ = NewDisposeScope();
        using var __ = no_grad();
        return model.forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))[0, -1].data<float>().ToArray();
    }

    /// <summary>GenSharp's greedy continuation, the whole sequence run again at each step (plain and obviously right).</summary>
    public static int[] Greedy(LlamaForCausalLM model, IReadOnlyList<int> prompt, int steps)
    {
        var ids = prompt.ToList();
        for (int s = 0; s < steps; s++)
        {
            var logits = Logits(model, ids);
            ids.Add(Array.IndexOf(logits, logits.Max()));
        }
        return [.. ids.Skip(prompt.Count)];
    }
}
