using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Models;

// Llama-style decoder-only transformer. Module and parameter names equal HF transformers' LlamaForCausalLM
// (model.layers.0.self_attn.q_proj.weight, …) so state dicts map one to one. Tensors in, logits out:
// no loss, sampling, file IO or device moves in here.

/// <summary>Products used only without autograd (generation, evaluation).</summary>
static class Inference
{
    /// <summary>
    /// x·Wᵀ computed as (W·xᵀ)ᵀ: the same numbers, but MKL runs the few-row products of batched decoding
    /// 2–4× faster this way round (16 rows, 512→1368: ~0.15–0.28 ms instead of ~0.5–0.6 ms; equal from ~64 rows).
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight)
    {
        var rows = x.reshape(-1, x.shape[^1]);                                   // (M, in)
        var y = weight.matmul(rows.t()).t();                                      // (M, out), a transposed view
        return y.reshape([.. x.shape[..^1], weight.shape[0]]);
    }
}

/// <summary>Root-mean-square layer norm (Zhang &amp; Sennrich 2019), computed in fp32 like HF's LlamaRMSNorm.</summary>
internal sealed class LlamaRMSNorm : Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double _eps;

    public LlamaRMSNorm(int size, double eps) : base(nameof(LlamaRMSNorm))
    {
        weight = new Parameter(ones(size));
        _eps = eps;
        RegisterComponents();
    }

    internal Parameter Weight => weight;
    internal double Eps => _eps;

    public override Tensor forward(Tensor x)
    {
        var variance = x.pow(2).mean([-1], keepdim: true);
        return weight * (x * rsqrt(variance + _eps));
    }
}

/// <summary>Rotary position embedding in HF's rotate-half layout: the two halves of each head are the pairs.</summary>
internal static class Rope
{
    /// <summary>cos and sin tables for <paramref name="positions"/> of any shape (…), each (…, head_dim).</summary>
    public static (Tensor Cos, Tensor Sin) Tables(Tensor positions, int headDim, double theta, RopeScaling? scaling = null)
    {
        using var scope = NewDisposeScope();
        // inv_freq_i = theta^(-2i/d), i = 0 … d/2-1  (RoFormer eq. 15), stretched by rope_scaling when the config has it
        var invFreq = pow(theta, arange(0, headDim, 2, float64, positions.device) / headDim).reciprocal();
        if (scaling is not null) invFreq = tensor(scaling.Apply(invFreq.cpu().data<double>().ToArray()), float64, positions.device);
        var freqs = positions.to(float64).unsqueeze(-1) * invFreq;      // (…, d/2)
        var emb = cat([freqs, freqs], -1);                                  // (T, d)
        return (emb.cos().to(float32).MoveToOuterDisposeScope(), emb.sin().to(float32).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// x·cos + rotate_half(x)·sin with rotate_half([x1, x2]) = [-x2, x1]. Since both halves of the tables
    /// are equal, rotate_half(x)·sin = roll(x, d/2)·[-sin₁, sin₂]: one copy instead of chunk, neg and cat.
    /// <paramref name="signedSin"/> comes from <see cref="SignedSin"/>; tables broadcast over x's leading dims.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor signedSin) =>
        addcmul(x * cos, x.roll(x.shape[^1] / 2, -1), signedSin, 1);

    /// <summary>[-sin₁, sin₂]: the sin table with its first half negated.</summary>
    public static Tensor SignedSin(Tensor sin)
    {
        var halves = sin.chunk(2, -1);
        return cat([-halves[0], halves[1]], -1);
    }
}

/// <summary>Causal self-attention with rotary positions and optional grouped-query K/V heads.</summary>
internal sealed class LlamaAttention : Module<Tensor, Tensor, Tensor, Tensor>
{
    readonly Linear q_proj, k_proj, v_proj, o_proj;

    /// <summary>LoRA updates by projection name (q_proj, …); not in the state dict (see <see cref="LoraLayer"/>).</summary>
    internal readonly Dictionary<string, LoraLayer> Lora = [];

    /// <summary>Served adapters of these projections (multi-LoRA), applied row by row.</summary>
    internal readonly LoraBank Bank = new();

    internal IEnumerable<(string Name, Linear Projection)> Projections =>
        [("q_proj", q_proj), ("k_proj", k_proj), ("v_proj", v_proj), ("o_proj", o_proj)];
    readonly int _heads, _kvHeads, _headDim, _layer;
    readonly double _dropout;

    public LlamaAttention(LlamaConfig c, int layer) : base(nameof(LlamaAttention))
    {
        (_heads, _kvHeads, _headDim, _dropout, _layer) = (c.NumHeads, c.NumKvHeads, c.HeadDim, c.AttentionDropout, layer);
        q_proj = Linear(c.HiddenSize, c.NumHeads * c.HeadDim, hasBias: c.QkvBias);
        k_proj = Linear(c.HiddenSize, c.NumKvHeads * c.HeadDim, hasBias: c.QkvBias);
        v_proj = Linear(c.HiddenSize, c.NumKvHeads * c.HeadDim, hasBias: c.QkvBias);
        o_proj = Linear(c.NumHeads * c.HeadDim, c.HiddenSize, hasBias: false);
        ProjectionStack.Colocate(q_proj, k_proj, v_proj);   // end to end: the CPU decoder reads them as one matrix
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin) => Forward(x, cos, sin, null);

    /// <summary>
    /// With <paramref name="cache"/>, x holds only the new tokens: their keys and values are stored and
    /// attention runs over everything the cache holds for each row. cos/sin broadcast over (B, T, heads, hs).
    /// </summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, KvCache.Step? cache)
    {
        long B = x.shape[0], T = x.shape[1];
        // Training: one GEMM over the concatenated weights (one backward instead of three). Inference:
        // copying the weights would cost more than a decode step's GEMVs, so concatenate the outputs.
        // Served adapters, row by row: the bank's one product over the stacked weights gives q, k, v with each row's update.
        var qkv = cache?.Adapters is { } routing ? Bank.Project([("q_proj", q_proj), ("k_proj", k_proj), ("v_proj", v_proj)], x, routing) : null;
        qkv ??= is_grad_enabled()
                ? F.linear(x, cat([q_proj.weight!, k_proj.weight!, v_proj.weight!], 0))
                : cat([Inference.Linear(x, q_proj.weight!), Inference.Linear(x, k_proj.weight!), Inference.Linear(x, v_proj.weight!)], -1);
        if (q_proj.bias is { } qb) qkv = qkv + cat([qb, k_proj.bias!, v_proj.bias!]);     // Qwen2's q, k, v biases (the fused products leave them out)
        if (Lora.Count > 0)                                                              // + (α/r)·B·A·x per adapted projection
            qkv = qkv + cat([Lora.Delta("q_proj", x, _heads * _headDim, training), Lora.Delta("k_proj", x, _kvHeads * _headDim, training),
                             Lora.Delta("v_proj", x, _kvHeads * _headDim, training)], -1);
        qkv = qkv.view(B, T, _heads + 2 * _kvHeads, _headDim);                          // (B, T, nh+2·nkv, hs)
        // split (not slicing): its backward is one cat instead of a zero-filled copy per slice.
        var qkAndV = qkv.split([_heads + _kvHeads, _kvHeads], 2);
        var qk = Rope.Apply(qkAndV[0], cos, sin).split([_heads, _kvHeads], 2);         // rotate q and k at once
        var q = qk[0].transpose(1, 2);                                                    // (B, nh, T, hs)
        Tensor k, v;
        Tensor? mask = null;
        bool causal = true;
        if (cache is null)
        {
            k = qk[1].transpose(1, 2);                                                    // (B, nkv, T, hs)
            v = qkAndV[1].transpose(1, 2);
        }
        else
        {
            (k, v) = cache.Update(_layer, qk[1], qkAndV[1]);                              // (B, nkv, L, hs)
            (mask, causal) = (cache.Mask, cache.Causal);
        }
        k = RepeatKv(k, _heads / _kvHeads);                                          // (B, nh, L, hs)
        v = RepeatKv(v, _heads / _kvHeads);
        var y = F.scaled_dot_product_attention(q, k, v, mask, training ? _dropout : 0.0, is_casual: causal);
        y = y.transpose(1, 2).contiguous().view(B, T, _heads * _headDim);            // (B, T, C)
        var o = (cache?.Adapters is { } r ? Bank.Project([("o_proj", o_proj)], y, r) : null)
            ?? (is_grad_enabled() ? o_proj.forward(y) : Inference.Linear(y, o_proj.weight!));
        return Lora.TryGetValue("o_proj", out var lo) ? o + lo.Delta(y, training) : o;
    }

    /// <summary>HF repeat_kv: each K/V head serves n_rep consecutive query heads. (B, nkv, T, hs) → (B, nkv·n_rep, T, hs).</summary>
    public static Tensor RepeatKv(Tensor x, int nRep)
    {
        if (nRep == 1) return x;
        long B = x.shape[0], H = x.shape[1], T = x.shape[2], D = x.shape[3];
        return x.unsqueeze(2).expand(B, H, nRep, T, D).reshape(B, H * nRep, T, D);
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)) (Shazeer 2020).</summary>
internal sealed class LlamaMLP : Module<Tensor, Tensor>
{
    readonly Linear gate_proj, up_proj, down_proj;

    /// <summary>LoRA updates by projection name (gate_proj, up_proj, down_proj).</summary>
    internal readonly Dictionary<string, LoraLayer> Lora = [];

    /// <summary>Served adapters of these projections (multi-LoRA), applied row by row.</summary>
    internal readonly LoraBank Bank = new();

    internal IEnumerable<(string Name, Linear Projection)> Projections => [("gate_proj", gate_proj), ("up_proj", up_proj), ("down_proj", down_proj)];

    public LlamaMLP(LlamaConfig c) : base(nameof(LlamaMLP))
    {
        gate_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        up_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        down_proj = Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>With <paramref name="routing"/>, each row also gets its served adapter's update.</summary>
    public Tensor Forward(Tensor x, LoraRouting? routing)
    {
        if (Lora.Count > 0 || routing is not null && !Bank.IsEmpty) return WithLora(x, Bank.IsEmpty ? null : routing);
        if (!is_grad_enabled())
            return Inference.Linear(F.silu(Inference.Linear(x, gate_proj.weight!)) * Inference.Linear(x, up_proj.weight!), down_proj.weight!);
        var gateUp = F.linear(x, cat([gate_proj.weight!, up_proj.weight!], 0)).chunk(2, -1);  // training: one GEMM for both
        return down_proj.forward(F.silu(gateUp[0]) * gateUp[1]);
    }

    Tensor WithLora(Tensor x, LoraRouting? routing)
    {
        // Each projection: the bank's product (base + each row's served adapter) where it serves one, else the base
        // product; then an attached adapter's update, if any.
        Tensor Base(Linear layer, Tensor input) => is_grad_enabled() ? layer.forward(input) : Inference.Linear(input, layer.weight!);
        Tensor Plus(string name, Tensor y, Tensor input) => Lora.TryGetValue(name, out var l) ? y + l.Delta(input, training) : y;
        var gateUp = routing is null ? null : Bank.Project([("gate_proj", gate_proj), ("up_proj", up_proj)], x, routing);
        long width = gate_proj.weight!.shape[0];
        var gate = Plus("gate_proj", gateUp?.narrow(-1, 0, width) ?? Base(gate_proj, x), x);
        var up = Plus("up_proj", gateUp?.narrow(-1, width, width) ?? Base(up_proj, x), x);
        var h = F.silu(gate) * up;
        var down = (routing is null ? null : Bank.Project([("down_proj", down_proj)], h, routing)) ?? Base(down_proj, h);
        return Plus("down_proj", down, h);
    }
}

/// <summary>Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
internal sealed class LlamaDecoderLayer : Module<Tensor, Tensor, Tensor, Tensor>
{
    readonly LlamaRMSNorm input_layernorm;
    readonly LlamaAttention self_attn;
    readonly LlamaRMSNorm post_attention_layernorm;
    readonly LlamaMLP mlp;
    readonly double _dropout;

    public LlamaDecoderLayer(LlamaConfig c, int layer) : base(nameof(LlamaDecoderLayer))
    {
        input_layernorm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps);
        self_attn = new LlamaAttention(c, layer);
        post_attention_layernorm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps);
        mlp = new LlamaMLP(c);
        _dropout = c.HiddenDropout;
        RegisterComponents();
    }

    internal LlamaAttention Attention => self_attn;
    internal LlamaMLP Mlp => mlp;
    internal LlamaRMSNorm InputNorm => input_layernorm;
    internal LlamaRMSNorm PostAttentionNorm => post_attention_layernorm;

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin) => Forward(x, cos, sin, null);

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, KvCache.Step? cache)
    {
        x = x + Drop(self_attn.Forward(input_layernorm.forward(x), cos, sin, cache));
        return x + Drop(mlp.Forward(post_attention_layernorm.forward(x), cache?.Adapters));
    }

    Tensor Drop(Tensor x) => training && _dropout > 0 ? F.dropout(x, _dropout, training: true) : x;
}

/// <summary>Embeddings, the decoder stack and the final norm: token ids (B, T) → hidden states (B, T, C).</summary>
public sealed class LlamaModel : Module<Tensor, Tensor>
{
    readonly Embedding embed_tokens;
    readonly ModuleList<LlamaDecoderLayer> layers;
    readonly LlamaRMSNorm norm;
    readonly LlamaConfig _config;

    public LlamaModel(LlamaConfig c) : base(nameof(LlamaModel))
    {
        _config = c;
        embed_tokens = Embedding(c.VocabSize, c.HiddenSize);
        layers = new ModuleList<LlamaDecoderLayer>(Enumerable.Range(0, c.NumLayers).Select(i => new LlamaDecoderLayer(c, i)).ToArray());
        norm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps);
        RegisterComponents();
    }

    internal Parameter EmbeddingWeight => embed_tokens.weight!;
    internal IReadOnlyList<LlamaDecoderLayer> Layers => [.. layers];
    internal LlamaRMSNorm Norm => norm;

    public override Tensor forward(Tensor inputIds)
    {
        long T = inputIds.shape[1];
        if (T > _config.MaxPositions)
            throw new ArgumentException($"sequence length {T} exceeds max_position_embeddings {_config.MaxPositions}");
        var (cos, sin) = Rope.Tables(arange(T, device: inputIds.device), _config.HeadDim, _config.RopeTheta, _config.RopeScaling);
        (cos, sin) = (cos.unsqueeze(1), Rope.SignedSin(sin).unsqueeze(1));                  // (T, 1, hs): broadcast over heads
        var x = embed_tokens.forward(inputIds);                 // (B, T, C)
        foreach (var layer in layers) x = Layer(() => layer.forward(x, cos, sin));
        return norm.forward(x);
    }

    // One layer's temporaries (attention weights, MLP activations) are freed when it returns, not at the end of the
    // caller's scope: without it a no-grad forward of B×T tokens holds every layer's at once (0.8 GB for eval's default
    // batch on the bundled model). Autograd keeps what backward needs on its own.
    static Tensor Layer(Func<Tensor> forward)
    {
        using var scope = NewDisposeScope();
        return forward().MoveToOuterDisposeScope();
    }

    /// <summary>Hidden states (B, T, C) of the new tokens of a cached step; positions come from the cache.</summary>
    public Tensor Forward(Tensor inputIds, KvCache.Step cache)
    {
        var (cos, sin) = Rope.Tables(cache.Positions, _config.HeadDim, _config.RopeTheta, _config.RopeScaling);  // (B, T, hs)
        (cos, sin) = (cos.unsqueeze(2), Rope.SignedSin(sin).unsqueeze(2));                 // (B, T, 1, hs)
        var x = embed_tokens.forward(inputIds);                 // (B, T, C)
        foreach (var layer in layers) x = Layer(() => layer.Forward(x, cos, sin, cache));
        return norm.forward(x);
    }
}

/// <summary>The language model: token ids (B, T) → next-token logits (B, T, vocab).</summary>
public sealed class LlamaForCausalLM : Module<Tensor, Tensor>
{
    readonly LlamaModel model;
    readonly Linear? lm_head;   // absent when tied: logits use the embedding matrix

    public LlamaForCausalLM(LlamaConfig config) : base(nameof(LlamaForCausalLM))
    {
        Config = config.Validate();
        model = new LlamaModel(config);
        if (!config.TieWordEmbeddings) lm_head = Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        RegisterComponents();
    }

    public LlamaConfig Config { get; }

    public override Tensor forward(Tensor inputIds) => Head(model.forward(inputIds));

    /// <summary>The final (normed) hidden states (B, T, C) that the head turns into logits.</summary>
    public Tensor HiddenStates(Tensor inputIds) => model.forward(inputIds);

    /// <summary>The decoder stack (what a reward model built from this one copies).</summary>
    internal LlamaModel Backbone => model;

    /// <summary>
    /// Logits (B, T, vocab) for new tokens (B, T) appended to the sequences in the cache step's slots;
    /// the step (from <see cref="KvCache.Begin"/>) says where each row's tokens go.
    /// </summary>
    public Tensor forward(Tensor inputIds, KvCache.Step cache)
    {
        if (cache.Slots.Length != inputIds.shape[0])
            throw new ArgumentException($"the cache step has {cache.Slots.Length} rows but the input has {inputIds.shape[0]}");
        return Head(model.Forward(inputIds, cache));
    }

    /// <summary>
    /// Logits (B, vocab) of one position per row — <c>last[b]</c>, e.g. each right-padded prompt's final token — for new
    /// tokens (B, T) of a cache step. Only those B positions go through the head (prefill need not pay T × vocab).
    /// </summary>
    public Tensor forward(Tensor inputIds, KvCache.Step cache, long[] last)
    {
        if (cache.Slots.Length != inputIds.shape[0] || last.Length != inputIds.shape[0])
            throw new ArgumentException($"the cache step has {cache.Slots.Length} rows, the input {inputIds.shape[0]}, the positions {last.Length}");
        var h = model.Forward(inputIds, cache);                                                       // (B, T, C)
        var at = tensor(last, device: h.device).view(-1, 1, 1).expand(-1, 1, h.shape[2]);
        return Head(h.gather(1, at).squeeze(1));                                                      // (B, V)
    }

    /// <summary>The output matrix (vocab, C): lm_head, or the embedding when tied.</summary>
    internal Tensor HeadWeight => lm_head is null ? model.EmbeddingWeight : lm_head.weight!;

    Tensor Head(Tensor h)
    {
        var w = HeadWeight;
        return is_grad_enabled() ? F.linear(h, w) : Inference.Linear(h, w);
    }

    /// <summary>
    /// GPT-2/nanoGPT initialisation: N(0, 0.02) for matrices and embeddings, residual output projections
    /// scaled by 1/√(2·layers); norms start at one. Deterministic given torch's seed.
    /// </summary>
    public void InitializeWeights(long seed)
    {
        using var _ = no_grad();
        var gen = new Generator((ulong)seed);
        double std = Config.InitializerRange;
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() == 1) { p.fill_(1.0); continue; }
            double s = name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight") ? std / Math.Sqrt(2.0 * Config.NumLayers) : std;
            p.normal_(0, s, gen);
        }
    }

    /// <summary>Number of parameters (tied embeddings counted once; LoRA updates not included).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// This model with room for <paramref name="vocabSize"/> tokens (HF's resize_token_embeddings): the embedding and
    /// output rows of the existing tokens are copied, new rows start at the mean of the old ones — so the old tokens'
    /// logits are exactly what they were. The model returned is new; this one is unchanged.
    /// </summary>
    public LlamaForCausalLM WithVocabulary(int vocabSize)
    {
        if (vocabSize < Config.VocabSize) throw new ArgumentException($"the vocabulary can grow, not shrink ({Config.VocabSize} → {vocabSize})");
        var grown = new LlamaForCausalLM(Config with { VocabSize = vocabSize });
        var device = parameters().First().device;
        grown.to(device);
        using var _ = no_grad();
        var source = state_dict();
        int old = Config.VocabSize;
        foreach (var (name, target) in grown.state_dict())
        {
            var w = source[name];
            if (name is "model.embed_tokens.weight" or "lm_head.weight")
            {
                target.narrow(0, 0, old).copy_(w);
                if (vocabSize > old) target.narrow(0, old, vocabSize - old).copy_(w.mean([0], keepdim: true).expand(vocabSize - old, -1));
            }
            else target.copy_(w);
        }
        grown.train(training);
        return grown;
    }

    /// <summary>The embedding and output layers, whole (PEFT's modules_to_save when the vocabulary grows), by HF name.</summary>
    public IReadOnlyList<(string Name, Parameter Weight)> VocabularyWeights =>
        lm_head is null ? [("model.embed_tokens", model.EmbeddingWeight)] : [("model.embed_tokens", model.EmbeddingWeight), ("lm_head", lm_head.weight!)];

    /// <summary>Every projection a LoRA update can attach to, by its HF module path (model.layers.0.self_attn.q_proj).</summary>
    IEnumerable<(string Path, string Name, Linear Projection, Dictionary<string, LoraLayer> Slots, LoraBank Bank)> Projections() =>
        model.Layers.SelectMany((layer, i) =>
            layer.Attention.Projections.Select(p => ($"model.layers.{i}.self_attn.{p.Name}", p.Name, p.Projection, layer.Attention.Lora, layer.Attention.Bank))
                .Concat(layer.Mlp.Projections.Select(p => ($"model.layers.{i}.mlp.{p.Name}", p.Name, p.Projection, layer.Mlp.Lora, layer.Mlp.Bank))));

    /// <summary>The attached LoRA updates by module path, in layer order.</summary>
    public IReadOnlyList<(string Path, LoraLayer Layer)> LoraLayers =>
        [.. Projections().Where(p => p.Slots.ContainsKey(p.Name)).Select(p => (p.Path, p.Slots[p.Name]))];

    /// <summary>
    /// Attaches a new LoRA update to every target projection (B = 0: the model's outputs do not change) and freezes the
    /// base weights, so training moves only the adapter. Returns the updates by module path.
    /// </summary>
    public IReadOnlyList<(string Path, LoraLayer Layer)> AttachLora(LoraConfig config, long seed)
    {
        config.Validate();
        if (LoraLayers.Count > 0) throw new InvalidOperationException("the model already has a LoRA adapter; merge or detach it first");
        var gen = new Generator((ulong)seed);
        foreach (var (_, name, projection, slots, _) in Projections().Where(p => config.TargetModules.Contains(p.Name)))
        {
            var w = projection.weight!;
            slots[name] = new LoraLayer(w.shape[1], w.shape[0], config, gen, w.device);
        }
        _frozen = [.. parameters().Where(p => p.requires_grad)];
        foreach (var p in _frozen) p.requires_grad = false;
        HasAttachedLora = true;
        return LoraLayers;
    }

    readonly List<string> _adapterNames = [];

    /// <summary>The adapters served on this model's one copy of the base weights, by bank slot.</summary>
    public IReadOnlyList<string> AdapterNames => _adapterNames;

    /// <summary>
    /// Adds a served adapter (a new bank slot) for the rows a <see cref="KvCache.Step"/> routes to it; several adapters then
    /// share one batch (multi-LoRA). Returns its slot and its updates by module path, to be filled with the adapter's weights.
    /// </summary>
    public (int Slot, IReadOnlyList<(string Path, LoraLayer Layer)> Layers) AddServedAdapter(string name, LoraConfig config)
    {
        config.Validate();
        if (_adapterNames.Contains(name)) throw new ArgumentException($"an adapter named '{name}' is served already");
        int slot = _adapterNames.Count;
        var layers = new List<(string, LoraLayer)>();
        foreach (var (path, projectionName, projection, _, bank) in Projections())
        {
            LoraLayer? layer = null;
            if (config.TargetModules.Contains(projectionName))
            {
                var w = projection.weight!;
                layer = new LoraLayer(w.shape[1], w.shape[0], config, null, w.device);
                layers.Add((path, layer));
            }
            bank.Add(projectionName, slot, layer);
        }
        _adapterNames.Add(name);
        return (slot, layers);
    }

    /// <summary>Folds every LoRA update into its base weight (W₀ + (α/r)·B·A) and removes the adapter.</summary>
    public void MergeLora()
    {
        using var _ = no_grad();
        foreach (var (_, name, projection, slots, _) in Projections().Where(p => p.Slots.ContainsKey(p.Name)))
            using (var delta = slots[name].Weight()) projection.weight!.add_(delta);
        DetachLora();
    }

    List<Parameter> _frozen = [];   // what AttachLora froze, and DetachLora thaws

    /// <summary>Whether a LoRA adapter is attached (not merged): cheap to ask every decode step.</summary>
    public bool HasAttachedLora { get; private set; }

    /// <summary>Removes the adapter without changing the base weights; the weights it froze are trainable again.</summary>
    public void DetachLora()
    {
        foreach (var (_, name, _, slots, _) in Projections().Where(p => p.Slots.ContainsKey(p.Name)))
        {
            slots[name].Dispose();
            slots.Remove(name);
        }
        foreach (var p in _frozen) p.requires_grad = true;
        _frozen = [];
        HasAttachedLora = false;
    }
}
