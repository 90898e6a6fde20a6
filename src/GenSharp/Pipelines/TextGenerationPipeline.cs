using System.Runtime.CompilerServices;
using GenSharp.Models;
using GenSharp.Sampling;
using GenSharp.Tokenizers;

namespace GenSharp.Pipelines;

/// <summary>
/// Prompt in, text out, over the KV-cache <see cref="GenerationEngine"/> (or <see cref="BeamSearch"/> when
/// beams &gt; 1). Arguments are checked before anything runs; every call owns its engine and cache.
/// Cancellation stops within one decode step and throws <see cref="OperationCanceledException"/>.
/// <paramref name="kernels"/> says how decode steps run (<see cref="GenerationEngine"/>).
/// </summary>
public sealed class TextGenerationPipeline(LlamaForCausalLM model, ITokenizer tokenizer, ContextOverflow overflow = ContextOverflow.Stop,
    DecodeKernelOptions? kernels = null)
{
    public LlamaForCausalLM Model => model;
    public DecodeKernelOptions? Kernels => kernels;
    public ITokenizer Tokenizer => tokenizer;

    public GenerationResult Generate(string prompt, GenerationOptions options, CancellationToken cancel = default) =>
        GenerateBatch([prompt], options, cancel)[0];

    /// <summary>Decodes all prompts together (continuous batching in one engine); results equal one-by-one generation.</summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<string> prompts, GenerationOptions options, CancellationToken cancel = default)
    {
        options.Validate(model.Config.VocabSize);
        if (options.Beams > 1) return prompts.Select(p => Beam(p, options, cancel)).ToArray();
        using var engine = new GenerationEngine(model, tokenizer, prompts.Count * options.N, overflow, kernels);
        var encoded = prompts.Select(engine.EncodePrompt).ToArray();
        var groups = encoded.Select(ids => engine.Add(ids, options)).ToArray();
        while (engine.HasWork)
        {
            cancel.ThrowIfCancellationRequested();
            engine.Step();
        }
        return groups.Select(g => new GenerationResult(
            g.Select(s => new Choice(s.Index, s.Text, s.Finish!.Value, s.Tokens, s.Logprobs)).ToArray(),
            new Usage(g[0].PromptTokens.Count, g.Sum(s => s.Tokens.Count)))).ToArray();
    }

    /// <summary>Streams the request's choices as they are decoded. Bad arguments throw here, before the first chunk.</summary>
    public IEnumerable<GenerationChunk> Stream(string prompt, GenerationOptions options, CancellationToken cancel = default)
    {
        options.Validate(model.Config.VocabSize);
        if (options.Beams > 1)
        {
            var ids = GenerationEngine.EncodePrompt(tokenizer, prompt, model.Config.MaxPositions);
            return BeamChunks(ids, options, cancel);
        }
        var engine = new GenerationEngine(model, tokenizer, options.N, overflow, kernels);
        try { return StreamFrom(engine, engine.Add(engine.EncodePrompt(prompt), options), cancel); }
        catch { engine.Dispose(); throw; }
    }

    /// <summary>The same stream for async callers: each decode step runs on the thread pool, synchronously inside its own scope.</summary>
    public async IAsyncEnumerable<GenerationChunk> StreamAsync(string prompt, GenerationOptions options, [EnumeratorCancellation] CancellationToken cancel = default)
    {
        using var chunks = Stream(prompt, options, cancel).GetEnumerator();
        while (await Task.Run(chunks.MoveNext, CancellationToken.None).ConfigureAwait(false))
            yield return chunks.Current;
    }

    IEnumerable<GenerationChunk> StreamFrom(GenerationEngine engine, IReadOnlyList<GeneratedSequence> group, CancellationToken cancel)
    {
        using var _ = engine;
        while (engine.HasWork)
        {
            cancel.ThrowIfCancellationRequested();
            foreach (var e in engine.Step())
            {
                var usage = e.Finish is null ? null : new Usage(e.Sequence.PromptTokens.Count, e.Sequence.Tokens.Count);
                if (e.Text.Length > 0 || e.Finish is not null || e.Logprob is not null)
                    yield return new GenerationChunk(e.Sequence.Index, e.Text, e.Logprob, e.Finish, usage);
            }
        }
    }

    IEnumerable<GenerationChunk> BeamChunks(int[] ids, GenerationOptions options, CancellationToken cancel)
    {
        var hyps = BeamSearch.Run(model, tokenizer, ids, options, cancel);
        for (int i = 0; i < hyps.Count; i++)
            yield return new GenerationChunk(i, hyps[i].Text, null, hyps[i].Finish, new Usage(ids.Length, hyps[i].Tokens.Count));
    }

    GenerationResult Beam(string prompt, GenerationOptions options, CancellationToken cancel)
    {
        var ids = GenerationEngine.EncodePrompt(tokenizer, prompt, model.Config.MaxPositions);
        var hyps = BeamSearch.Run(model, tokenizer, ids, options, cancel);
        var choices = hyps.Select((h, i) => new Choice(i, h.Text, h.Finish, h.Tokens, null, h.Score)).ToArray();
        return new GenerationResult(choices, new Usage(ids.Length, hyps.Sum(h => h.Tokens.Count)));
    }
}
