using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Models;

// A small class-conditional U-Net for denoising diffusion (Ho et al. 2020, appendix B; Nichol & Dhariwal 2021):
// residual blocks with a timestep (+ class) embedding, self-attention at the lowest resolution, skip
// connections between the halves. ε-prediction: noisy images and timesteps in, predicted noise out.

/// <summary>GroupNorm with its affine parameters set explicitly: TorchSharp 0.107 leaves them uninitialised in some cases (seen as NaN weights).</summary>
static class Norm
{
    public static GroupNorm Group(int groups, int channels)
    {
        var n = GroupNorm(groups, channels);
        using var _ = no_grad();
        n.weight!.fill_(1);
        n.bias!.zero_();
        return n;
    }
}

/// <summary>GroupNorm → SiLU → conv, twice, with the embedding added in between; 1×1 conv on the skip when channels change.</summary>
internal sealed class ResBlock : Module<Tensor, Tensor, Tensor>
{
    readonly GroupNorm norm1;
    readonly Conv2d conv1;
    readonly Linear emb_proj;
    readonly GroupNorm norm2;
    readonly Dropout dropout;
    readonly Conv2d conv2;
    readonly Conv2d? skip;

    public ResBlock(int cin, int cout, int embDim, int groups, double p) : base(nameof(ResBlock))
    {
        norm1 = Norm.Group(groups, cin);
        conv1 = Conv2d(cin, cout, 3, padding: 1);
        emb_proj = Linear(embDim, cout);
        norm2 = Norm.Group(groups, cout);
        dropout = Dropout(p);
        conv2 = Conv2d(cout, cout, 3, padding: 1);
        if (cin != cout) skip = Conv2d(cin, cout, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor emb)
    {
        var h = conv1.forward(F.silu(norm1.forward(x)));                         // (B, cout, H, W)
        h = h + emb_proj.forward(F.silu(emb)).unsqueeze(-1).unsqueeze(-1);     // + (B, cout, 1, 1)
        h = conv2.forward(dropout.forward(F.silu(norm2.forward(h))));
        return (skip is null ? x : skip.forward(x)) + h;
    }
}

/// <summary>Self-attention over the H·W positions of a feature map (one head per 32 channels), residual.</summary>
internal sealed class AttentionBlock : Module<Tensor, Tensor>
{
    readonly GroupNorm norm;
    readonly Conv2d qkv;
    readonly Conv2d proj;
    readonly int _heads;

    public AttentionBlock(int channels, int groups) : base(nameof(AttentionBlock))
    {
        norm = Norm.Group(groups, channels);
        qkv = Conv2d(channels, 3 * channels, 1);
        proj = Conv2d(channels, channels, 1);
        _heads = Math.Max(1, channels / 32);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        long B = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
        var t = qkv.forward(norm.forward(x)).view(B, 3, _heads, C / _heads, H * W).permute(1, 0, 2, 4, 3);   // (3, B, nh, HW, hs)
        var y = F.scaled_dot_product_attention(t[0], t[1], t[2]);                                          // (B, nh, HW, hs)
        return x + proj.forward(y.permute(0, 1, 3, 2).reshape(B, C, H, W));
    }
}

/// <summary>Noise predictor ε_θ(x_t, t, y): images (B, C, H, W), timesteps (B), class ids (B; NumClasses = none) → (B, C, H, W).</summary>
public sealed class UNet : Module<Tensor, Tensor, Tensor, Tensor>
{
    readonly Linear time_mlp1, time_mlp2;
    readonly Embedding? class_embed;
    readonly Conv2d conv_in;
    readonly ModuleList<ResBlock> down_blocks;
    readonly ModuleList<Module<Tensor, Tensor>> down_attn;   // identity where a level has no attention
    readonly ModuleList<Conv2d> downsamplers;
    readonly ResBlock mid_block1;
    readonly AttentionBlock mid_attn;
    readonly ResBlock mid_block2;
    readonly ModuleList<ResBlock> up_blocks;
    readonly ModuleList<Module<Tensor, Tensor>> up_attn;
    readonly ModuleList<Conv2d> upsamplers;
    readonly GroupNorm norm_out;
    readonly Conv2d conv_out;

    public UNet(UNetConfig config) : base(nameof(UNet))
    {
        Numerics.ConvolutionCheck.EnsureCorrect();   // libtorch's oneDNN convolution is wrong on some CPUs
        Config = config.Validate();
        int b = config.BaseChannels, e = config.EmbedDim, g = config.Groups, L = config.Levels;
        double p = config.Dropout;
        int Ch(int level) => b * config.ChannelMults[level];
        time_mlp1 = Linear(b, e);
        time_mlp2 = Linear(e, e);
        if (config.NumClasses > 0) class_embed = Embedding(config.NumClasses + 1, e);
        conv_in = Conv2d(config.InChannels, b, 3, padding: 1);
        Module<Tensor, Tensor> Attn(int level, int c) => level == L - 1 ? new AttentionBlock(c, g) : Identity();
        down_blocks = new ModuleList<ResBlock>(Enumerable.Range(0, L).Select(l => new ResBlock(l == 0 ? b : Ch(l - 1), Ch(l), e, g, p)).ToArray());
        down_attn = new ModuleList<Module<Tensor, Tensor>>(Enumerable.Range(0, L).Select(l => Attn(l, Ch(l))).ToArray());
        downsamplers = new ModuleList<Conv2d>(Enumerable.Range(0, L - 1).Select(l => Conv2d(Ch(l), Ch(l), 3, stride: 2, padding: 1)).ToArray());
        mid_block1 = new ResBlock(Ch(L - 1), Ch(L - 1), e, g, p);
        mid_attn = new AttentionBlock(Ch(L - 1), g);
        mid_block2 = new ResBlock(Ch(L - 1), Ch(L - 1), e, g, p);
        // Up path, lowest level first: input = features from below (or mid) ⊕ the same level's skip.
        up_blocks = new ModuleList<ResBlock>(Enumerable.Range(0, L).Reverse().Select(l => new ResBlock((l == L - 1 ? Ch(L - 1) : Ch(l + 1)) + Ch(l), Ch(l), e, g, p)).ToArray());
        up_attn = new ModuleList<Module<Tensor, Tensor>>(Enumerable.Range(0, L).Reverse().Select(l => Attn(l, Ch(l))).ToArray());
        upsamplers = new ModuleList<Conv2d>(Enumerable.Range(1, L - 1).Reverse().Select(l => Conv2d(Ch(l), Ch(l), 3, padding: 1)).ToArray());
        norm_out = Norm.Group(g, b);
        conv_out = Conv2d(b, config.InChannels, 3, padding: 1);
        RegisterComponents();
        using var _ = no_grad();
        conv_out.weight!.zero_();   // start as "predict zero noise": stable early training
        conv_out.bias!.zero_();
    }

    public UNetConfig Config { get; }

    /// <summary>The class id that means "no class" (classifier-free guidance's unconditional branch).</summary>
    public int NullClass => Config.NumClasses;

    public override Tensor forward(Tensor x, Tensor t, Tensor y)
    {
        var emb = time_mlp2.forward(F.silu(time_mlp1.forward(TimestepEmbedding(t, Config.BaseChannels))));   // (B, E)
        if (class_embed is not null) emb = emb + class_embed.forward(y);
        var h = conv_in.forward(x);                                                                          // (B, b, H, W)
        var skips = new List<Tensor>();
        for (int l = 0; l < Config.Levels; l++)
        {
            h = down_attn[l].forward(down_blocks[l].forward(h, emb));                                       // (B, ch_l, H/2^l, W/2^l)
            skips.Add(h);
            if (l < Config.Levels - 1) h = downsamplers[l].forward(h);
        }
        h = mid_block2.forward(mid_attn.forward(mid_block1.forward(h, emb)), emb);
        for (int i = 0; i < Config.Levels; i++)
        {
            h = up_attn[i].forward(up_blocks[i].forward(cat([h, skips[^(i + 1)]], 1), emb));
            if (i < Config.Levels - 1) h = upsamplers[i].forward(F.interpolate(h, scale_factor: [2, 2], mode: InterpolationMode.Nearest));
        }
        return conv_out.forward(F.silu(norm_out.forward(h)));
    }

    /// <summary>Transformer sinusoidal embedding of the timestep (Vaswani et al. 2017 §3.5): (B) → (B, dim).</summary>
    public static Tensor TimestepEmbedding(Tensor t, int dim)
    {
        var args = t.to(float32).unsqueeze(1) * TimestepFrequencies(dim, t.device).unsqueeze(0);         // (B, dim/2)
        return cat([args.cos(), args.sin()], 1);
    }

    /// <summary>The embedding's frequencies exp(−ln(10000)·i/(dim/2)), i = 0 … dim/2−1.</summary>
    internal static Tensor TimestepFrequencies(int dim, Device? device = null)
    {
        int half = dim / 2;
        return exp(arange(half, dtype: float32, device: device) * (-Math.Log(10000.0) / half));
    }

    public long ParameterCount => parameters().Sum(p => p.numel());
}
