using GenSharp.Numerics;
using GenSharp.Models;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Sampling;

/// <summary>
/// The decode loop over a KV cache: sequences are added (each takes a cache slot), every <see cref="Step"/>
/// prefills new prompts (several in one padded pass when their lengths are close) and then decodes one token for all running sequences in one
/// batched forward pass, and finished or cancelled sequences free their slot. Sequences may be added and
/// cancelled between steps (continuous batching). Not thread-safe: one caller drives it. Each step runs in
/// its own DisposeScope; nothing is held across steps but the cache.
/// </summary>
public sealed class GenerationEngine : IDisposable
{
    readonly LlamaForCausalLM _model;
    readonly ITokenizer _tokenizer;
    readonly KvCache _cache;
    readonly Device _device;
    readonly Stack<int> _freeSlots;
    readonly List<GeneratedSequence[]> _toPrefill = [];
    readonly List<GeneratedSequence> _running = [];
    int _nextId;

    readonly LlamaCpuDecoder? _decoder;   // decode steps on GenSharp's CPU kernels; prefill stays on libtorch
    float[] _logits = [];

    /// <param name="kernels">How decode steps run on the CPU (default: GenSharp's kernels in fp32 where the model allows,
    /// else libtorch). <see cref="DecodeKernelOptions.Int8"/> quantizes the model's weights in place.</param>
    public GenerationEngine(LlamaForCausalLM model, ITokenizer tokenizer, int maxSequences = 16, ContextOverflow overflow = ContextOverflow.Stop,
        DecodeKernelOptions? kernels = null)
    {
        kernels = (kernels ?? DecodeKernelOptions.Default).Validate();
        (_model, _tokenizer, Overflow) = (model, tokenizer, overflow);
        _device = model.parameters().First().device;
        _cache = new KvCache(model.Config, maxSequences, _device);
        _freeSlots = new Stack<int>(Enumerable.Range(0, maxSequences).Reverse());
        model.eval();
        var unsupported = kernels.Enabled ? LlamaCpuDecoder.Unsupported(model) : "turned off";
        if (kernels.Int8 && unsupported is not null) throw new ArgumentException($"int8 decoding needs GenSharp's CPU kernels, which cannot run this model: {unsupported}");
        if (unsupported is null) _decoder = new LlamaCpuDecoder(model, _cache, kernels);
    }

    internal LlamaCpuDecoder? Decoder => _decoder;

    /// <summary>What runs decode steps: "libtorch", or GenSharp's kernels with their precision, instruction set and threads.</summary>
    public string DecodeBackend => _decoder is null ? "libtorch"
        : $"GenSharp kernels, {(_decoder.Int8 ? "int8 (q8_0)" : "fp32")}, {SimdPaths.Describe(_decoder.Path)}, {_decoder.Threads} thread{(_decoder.Threads == 1 ? "" : "s")}";

    public int Capacity => _cache.Slots;
    public int FreeSlots => _freeSlots.Count;
    public int Context => _cache.Context;
    public ContextOverflow Overflow { get; }
    public bool HasWork => _running.Count > 0;
    public long Steps { get; private set; }
    /// <summary>Forward passes that prefilled prompts (several prompts of close lengths share one).</summary>
    public long PrefillPasses { get; private set; }
    /// <summary>Time spent in the model's forward passes (logits copied to the CPU included); the rest of a step is the engine's own work.</summary>
    public TimeSpan ModelTime => _modelTime.Elapsed;
    readonly System.Diagnostics.Stopwatch _modelTime = new();

    /// <summary>
    /// Tokenizes a prompt and checks it fits: not empty, valid Unicode, shorter than the context.
    /// Throws <see cref="ArgumentException"/> naming the problem.
    /// </summary>
    public int[] EncodePrompt(string prompt) => EncodePrompt(_tokenizer, prompt, Context);

    /// <inheritdoc cref="EncodePrompt(string)"/>
    public static int[] EncodePrompt(ITokenizer tokenizer, string prompt, int context)
    {
        for (int i = 0; i < prompt.Length; i++)
        {
            if (char.IsHighSurrogate(prompt[i]) && i + 1 < prompt.Length && char.IsLowSurrogate(prompt[i + 1])) { i++; continue; }
            if (char.IsSurrogate(prompt[i])) throw new ArgumentException($"the prompt is not valid Unicode: unpaired surrogate U+{(int)prompt[i]:X4} at index {i}");
        }
        var ids = tokenizer.Encode(prompt);
        if (ids.Length == 0) throw new ArgumentException("the prompt is empty; give at least one character for the model to continue");
        if (tokenizer.PromptPrefix is { Length: > 0 } prefix && !ids.AsSpan().StartsWith(prefix)) ids = [.. prefix, .. ids];   // the post-processor's BOS, once
        if (ids.Length >= context)
            throw new ArgumentException($"the prompt is {ids.Length} tokens but the model's context is {context} tokens (at most {context - 1} leave room to generate)");
        return ids;
    }

    /// <summary>
    /// Queues <c>options.N</c> samples of one prompt; they are prefilled together at the next step. <paramref name="adapter"/>
    /// picks one of the model's served LoRA adapters (<see cref="LlamaForCausalLM.AdapterNames"/>); sequences of different
    /// adapters still decode in one batch.
    /// </summary>
    public IReadOnlyList<GeneratedSequence> Add(int[] prompt, GenerationOptions options, int adapter = -1)
    {
        if (adapter < -1 || adapter >= _model.AdapterNames.Count)
            throw new ArgumentException($"adapter slot {adapter} is not served by this model (it serves {_model.AdapterNames.Count})");
        options.Validate(_model.Config.VocabSize);
        if (options.Beams > 1) throw new ArgumentException("beam search runs in BeamSearch, not in the sampling engine");
        if (prompt.Length == 0 || prompt.Length >= Context) throw new ArgumentException($"the prompt must have 1…{Context - 1} tokens (got {prompt.Length})");
        if (prompt.Any(t => t < 0 || t >= _model.Config.VocabSize)) throw new ArgumentException($"the prompt holds a token outside the vocabulary (0…{_model.Config.VocabSize - 1})");
        if (options.N > FreeSlots) throw new InvalidOperationException($"the engine has {FreeSlots} free sequence slots; the request needs {options.N}");
        int? eos = _model.Config.EosTokenId;
        var group = Enumerable.Range(0, options.N)
            .Select(i => new GeneratedSequence(_nextId++, i, prompt, options, _tokenizer, eos) { Slot = _freeSlots.Pop(), Adapter = adapter })
            .ToArray();
        _toPrefill.Add(group);
        _running.AddRange(group);
        return group;
    }

    /// <summary>Stops a sequence now and frees its slot; returns its final event (reason Cancelled).</summary>
    public GenerationEvent Cancel(GeneratedSequence s)
    {
        if (s.Finish is not null || !_running.Remove(s)) return new GenerationEvent(s, -1, "", null, s.Finish);
        foreach (var g in _toPrefill.ToArray())
            if (g.Contains(s)) { _toPrefill.Remove(g); if (g.Length > 1) _toPrefill.Add(g.Where(x => x != s).ToArray()); }
        Release(s);
        return s.Cancel();
    }

    /// <summary>One engine step: prefill new sequences, decode one token for the others. Returns each sequence's event.</summary>
    public IReadOnlyList<GenerationEvent> Step()
    {
        var events = new List<GenerationEvent>();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var prefilled = new HashSet<GeneratedSequence>();
        int vocab = _model.Config.VocabSize;
        foreach (var batch in PrefillBatches())
        {
            var logits = PrefillLogits(batch.Select(g => g[0]).ToArray());            // (B·V): each prompt's last position
            for (int b = 0; b < batch.Count; b++)
            {
                var group = batch[b];
                if (group.Length > 1) _cache.Copy(group.Skip(1).Select(_ => group[0].Slot).ToArray(), group.Skip(1).Select(s => s.Slot).ToArray());
                foreach (var s in group)
                {
                    s.Prefilled = true;
                    prefilled.Add(s);
                    events.Add(s.Next(logits.AsSpan(b * vocab, vocab), ContextFull(s)));
                }
            }
        }
        _toPrefill.Clear();

        var decoding = _running.Where(s => s.Finish is null && !prefilled.Contains(s)).OrderBy(s => s.Slot).ToList();
        if (decoding.Count > 0)
        {
            foreach (var s in decoding.Where(s => _cache.Length(s.Slot) >= Context)) Shift(s);
            var slots = decoding.Select(s => s.Slot).ToArray();
            float[] rows;
            _modelTime.Start();
            if (_decoder is not null && !_model.HasAttachedLora && decoding.All(s => s.Adapter < 0))
            {
                int size = decoding.Count * _model.Config.VocabSize;
                if (_logits.Length != size) _logits = new float[size];
                _decoder.Forward(slots, decoding.Select(s => s.LastToken).ToArray(), _logits);
                rows = _logits;
            }
            else
                using (NewDisposeScope())   // the forward pass's temporaries are freed here, inside the model time
                    rows = _model.forward(tensor(decoding.Select(s => (long)s.LastToken).ToArray(), device: _device).view(decoding.Count, 1), Routed(_cache.Begin(slots, 1), decoding.Select(s => s.Adapter))).view(decoding.Count, -1).cpu().data<float>().ToArray();   // (B·V)
            _modelTime.Stop();
            FiniteCheck.Logits(rows);
            for (int b = 0; b < decoding.Count; b++)
                events.Add(decoding[b].Next(rows.AsSpan(b * vocab, vocab), ContextFull(decoding[b])));
        }
        foreach (var s in _running.Where(s => s.Finish is not null).ToList())
        {
            _running.Remove(s);
            Release(s);
        }
        Steps++;
        return events;
    }

    // After the step that fed a sequence's last token, can its newest token still be fed next step?
    bool ContextFull(GeneratedSequence s) => Overflow == ContextOverflow.Stop && _cache.Length(s.Slot) >= Context;

    // Rows of served adapters carry their bank slots; a batch of base rows alone carries none (the fast path).
    KvCache.Step Routed(KvCache.Step step, IEnumerable<int> adapters)
    {
        var routes = adapters.ToArray();
        if (routes.Any(a => a >= 0)) step.Route(routes, _model.AdapterNames.Count);
        return step;
    }

    /// <summary>
    /// Prompt tokens of a prefill pass up to which it runs on the CPU kernels (when they decode; default: every pass).
    /// Short prompts save libtorch's few hundred op launches a pass; long ones run on the packed GEMM and blocked
    /// attention, which outrun libtorch's GEMM on these CPUs (`gensharp-bench kernels --prefill`: 0.4–0.8× libtorch's
    /// time from 4 to 480 tokens on models of 33.6 M and 113 M parameters). The bench sets it to compare the two.
    /// </summary>
    internal static int KernelPrefillTokens = int.MaxValue;

    /// <summary>Most padded tokens (rows × longest prompt) one prefill pass takes; a longer prompt goes alone.</summary>
    internal const int PrefillBatchTokens = 2048;

    // Prompts waiting for prefill in passes of several: shortest first, a pass grows while it stays short enough for the
    // kernels (prompts are rows there: no padding), or while its padded size stays within the budget and its padding under
    // a third of it (prompts of similar length share a libtorch pass). One pass of B prompts costs far less than B passes
    // of one on a CPU, and every waiting request gets its first token in the same step.
    List<List<GeneratedSequence[]>> PrefillBatches()
    {
        var batches = new List<List<GeneratedSequence[]>>();
        List<GeneratedSequence[]>? batch = null;
        long real = 0;
        foreach (var group in _toPrefill.OrderBy(g => g[0].PromptTokens.Count))
        {
            int n = group[0].PromptTokens.Count;   // the longest so far
            long padded = (long)((batch?.Count ?? 0) + 1) * n;
            bool fits = batch is not null && (OnKernels([.. batch, group], real + n) || padded <= PrefillBatchTokens && 3 * (padded - real - n) <= padded);
            if (!fits)
            {
                batches.Add(batch = []);
                real = 0;
            }
            batch!.Add(group);
            real += n;
        }
        return batches;
    }

    bool OnKernels(IReadOnlyList<GeneratedSequence[]> batch, long tokens) =>
        _decoder is not null && !_model.HasAttachedLora && tokens <= KernelPrefillTokens && batch.All(g => g[0].Adapter < 0);

    // One pass over the prompts, each into its slot; (B·V) logits of each prompt's final token.
    float[] PrefillLogits(GeneratedSequence[] heads)
    {
        var lengths = heads.Select(h => h.PromptTokens.Count).ToArray();
        float[] logits;
        PrefillPasses++;
        _modelTime.Start();
        if (OnKernels([.. heads.Select(h => new[] { h })], lengths.Sum()))
            _decoder!.Prefill([.. heads.Select(h => (h.Slot, h.PromptTokens))], logits = new float[heads.Length * _model.Config.VocabSize]);
        else
            logits = TorchPrefill(heads, lengths);
        _modelTime.Stop();
        FiniteCheck.Logits(logits);
        return logits;
    }

    // libtorch: the prompts right-padded to the longest, one (B, T) forward pass.
    float[] TorchPrefill(GeneratedSequence[] heads, int[] lengths)
    {
        int T = lengths.Max();
        var ids = new long[heads.Length * T];
        for (int b = 0; b < heads.Length; b++)
            for (int t = 0; t < lengths[b]; t++) ids[b * T + t] = heads[b].PromptTokens[t];
        using var scope = NewDisposeScope();
        var step = Routed(_cache.Begin(heads.Select(h => h.Slot).ToArray(), lengths), heads.Select(h => h.Adapter));
        return _model.forward(tensor(ids, device: _device).view(heads.Length, T), step, lengths.Select(n => (long)n - 1).ToArray())
            .cpu().data<float>().ToArray();
    }

    // Context shift: keep the newest half of the tokens before the last one and re-encode them from position 0.
    void Shift(GeneratedSequence s)
    {
        var all = s.PromptTokens.Concat(s.Tokens).ToList();
        int keep = Context / 2;
        _cache.Reset(s.Slot);
        var window = all.GetRange(all.Count - 1 - keep, keep);
        var ids = tensor(window.Select(t => (long)t).ToArray(), device: _device).unsqueeze(0);
        _model.forward(ids, Routed(_cache.Begin([s.Slot], keep), [s.Adapter]));
    }

    void Release(GeneratedSequence s)
    {
        if (s.Slot < 0) return;
        _cache.Reset(s.Slot);
        _freeSlots.Push(s.Slot);
        s.Slot = -1;
    }

    public void Dispose()
    {
        _decoder?.Dispose();
        _cache.Dispose();
    }
}
