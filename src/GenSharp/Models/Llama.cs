using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Models;

// Llama-style decoder-only transformer. Module and parameter names equal HF transformers' LlamaForCausalLM
// (model.layers.0.self_attn.q_proj.weight, …) so state dicts map one to one. Tensors in, logits out:
// no loss, sampling, file IO or device moves in here.

/// <summary>Root-mean-square layer norm (Zhang &amp; Sennrich 2019), computed in fp32 like HF's LlamaRMSNorm.</summary>
public sealed class LlamaRMSNorm : Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double _eps;

    public LlamaRMSNorm(int size, double eps) : base(nameof(LlamaRMSNorm))
    {
        weight = new Parameter(ones(size));
        _eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var variance = x.pow(2).mean([-1], keepdim: true);
        return weight * (x * rsqrt(variance + _eps));
    }
}

/// <summary>Rotary position embedding in HF's rotate-half layout: the two halves of each head are the pairs.</summary>
public static class Rope
{
    /// <summary>cos and sin tables for <paramref name="positions"/>, each (T, head_dim).</summary>
    public static (Tensor Cos, Tensor Sin) Tables(Tensor positions, int headDim, double theta)
    {
        using var scope = NewDisposeScope();
        // inv_freq_i = theta^(-2i/d), i = 0 … d/2-1  (RoFormer eq. 15)
        var invFreq = pow(theta, arange(0, headDim, 2, float64, positions.device) / headDim).reciprocal();
        var freqs = outer(positions.to(float64), invFreq);               // (T, d/2)
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
public sealed class LlamaAttention : Module<Tensor, Tensor, Tensor, Tensor>
{
    readonly Linear q_proj, k_proj, v_proj, o_proj;
    readonly int _heads, _kvHeads, _headDim;
    readonly double _dropout;

    public LlamaAttention(LlamaConfig c) : base(nameof(LlamaAttention))
    {
        (_heads, _kvHeads, _headDim, _dropout) = (c.NumHeads, c.NumKvHeads, c.HeadDim, c.AttentionDropout);
        q_proj = Linear(c.HiddenSize, c.NumHeads * c.HeadDim, hasBias: false);
        k_proj = Linear(c.HiddenSize, c.NumKvHeads * c.HeadDim, hasBias: false);
        v_proj = Linear(c.HiddenSize, c.NumKvHeads * c.HeadDim, hasBias: false);
        o_proj = Linear(c.NumHeads * c.HeadDim, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        long B = x.shape[0], T = x.shape[1];
        // One GEMM for q, k and v, and one RoPE for q and k together: small models are launch-bound on CPU.
        var qkv = F.linear(x, cat([q_proj.weight!, k_proj.weight!, v_proj.weight!], 0))
            .view(B, T, _heads + 2 * _kvHeads, _headDim);                                 // (B, T, nh+2·nkv, hs)
        // split (not slicing): its backward is one cat instead of a zero-filled copy per slice.
        var qkAndV = qkv.split([_heads + _kvHeads, _kvHeads], 2);
        var qk = Rope.Apply(qkAndV[0], cos, sin).split([_heads, _kvHeads], 2);         // rotate q and k at once
        var q = qk[0].transpose(1, 2);                                                    // (B, nh, T, hs)
        var k = qk[1].transpose(1, 2);                                                    // (B, nkv, T, hs)
        var v = qkAndV[1].transpose(1, 2);                                                // (B, nkv, T, hs)
        k = RepeatKv(k, _heads / _kvHeads);                                          // (B, nh, T, hs)
        v = RepeatKv(v, _heads / _kvHeads);
        var y = F.scaled_dot_product_attention(q, k, v, p: training ? _dropout : 0.0, is_casual: true);
        y = y.transpose(1, 2).contiguous().view(B, T, _heads * _headDim);            // (B, T, C)
        return o_proj.forward(y);
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
public sealed class LlamaMLP : Module<Tensor, Tensor>
{
    readonly Linear gate_proj, up_proj, down_proj;

    public LlamaMLP(LlamaConfig c) : base(nameof(LlamaMLP))
    {
        gate_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        up_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        down_proj = Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var gateUp = F.linear(x, cat([gate_proj.weight!, up_proj.weight!], 0)).chunk(2, -1);  // one GEMM for both
        return down_proj.forward(F.silu(gateUp[0]) * gateUp[1]);
    }
}

/// <summary>Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
public sealed class LlamaDecoderLayer : Module<Tensor, Tensor, Tensor, Tensor>
{
    readonly LlamaRMSNorm input_layernorm;
    readonly LlamaAttention self_attn;
    readonly LlamaRMSNorm post_attention_layernorm;
    readonly LlamaMLP mlp;
    readonly double _dropout;

    public LlamaDecoderLayer(LlamaConfig c) : base(nameof(LlamaDecoderLayer))
    {
        input_layernorm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps);
        self_attn = new LlamaAttention(c);
        post_attention_layernorm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps);
        mlp = new LlamaMLP(c);
        _dropout = c.HiddenDropout;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        x = x + Drop(self_attn.forward(input_layernorm.forward(x), cos, sin));
        return x + Drop(mlp.forward(post_attention_layernorm.forward(x)));
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
        layers = new ModuleList<LlamaDecoderLayer>(Enumerable.Range(0, c.NumLayers).Select(_ => new LlamaDecoderLayer(c)).ToArray());
        norm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps);
        RegisterComponents();
    }

    internal Parameter EmbeddingWeight => embed_tokens.weight!;

    public override Tensor forward(Tensor inputIds)
    {
        long T = inputIds.shape[1];
        if (T > _config.MaxPositions)
            throw new ArgumentException($"sequence length {T} exceeds max_position_embeddings {_config.MaxPositions}");
        var (cos, sin) = Rope.Tables(arange(T, device: inputIds.device), _config.HeadDim, _config.RopeTheta);
        (cos, sin) = (cos.unsqueeze(1), Rope.SignedSin(sin).unsqueeze(1));                  // (T, 1, hs): broadcast over heads
        var x = embed_tokens.forward(inputIds);                 // (B, T, C)
        foreach (var layer in layers) x = layer.forward(x, cos, sin);
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

    public override Tensor forward(Tensor inputIds)
    {
        var h = model.forward(inputIds);
        return lm_head is null ? F.linear(h, model.EmbeddingWeight) : lm_head.forward(h);
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

    /// <summary>Number of parameters (tied embeddings counted once).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());
}
