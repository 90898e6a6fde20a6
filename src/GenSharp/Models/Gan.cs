using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Models;

// DCGAN-class generator and discriminator (Radford et al. 2016) for small images. The discriminator's weights are
// spectrally normalised (Miyato et al. 2018) and class conditioning is by projection (Miyato & Koyama 2018):
// D(x, y) = ψ(φ(x)) + ⟨e_y, φ(x)⟩. The generator takes the class as a learned embedding next to z.
// Losses live in Training/GanTrainer.cs.

/// <summary>
/// A convolution or linear layer whose weight is divided by its largest singular value σ, estimated by one
/// power-iteration step per training forward pass (Miyato et al. 2018, Algorithm 1); u persists as a buffer.
/// </summary>
internal sealed class SpectralNorm : Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter bias;
    readonly Tensor u;
    readonly long _stride, _padding;
    readonly bool _conv;

    /// <summary>A 2-D convolution (<paramref name="kernel"/> > 0) or, with kernel 0, a linear layer.</summary>
    public SpectralNorm(long inFeatures, long outFeatures, long kernel = 0, long stride = 1, long padding = 0) : base(nameof(SpectralNorm))
    {
        (_conv, _stride, _padding) = (kernel > 0, stride, padding);
        Module<Tensor, Tensor> init = _conv ? Conv2d(inFeatures, outFeatures, kernel, stride, padding) : Linear(inFeatures, outFeatures);
        var p = init.parameters().ToArray();   // PyTorch's default initialisation
        weight = Parameter(p[0].detach().clone());
        bias = Parameter(p[1].detach().clone());
        init.Dispose();
        u = F.normalize(randn(outFeatures), dim: 0);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var w = weight.view(weight.shape[0], -1);                             // (out, in·k·k)
        Tensor uu, v;
        using (no_grad())
        {
            if (training) u.copy_(F.normalize(w.mv(F.normalize(w.t().mv(u), dim: 0)), dim: 0));
            uu = u.clone();                                                   // the graph must not see later in-place updates of u
            v = F.normalize(w.t().mv(uu), dim: 0);
        }
        var sigma = uu.dot(w.mv(v));                                           // σ ≈ uᵀ W v, differentiable in W
        var wn = weight / sigma;
        return _conv ? F.conv2d(x, wn, bias, [_stride, _stride], [_padding, _padding]) : F.linear(x, wn, bias);
    }
}

/// <summary>
/// Appends one feature map holding the batch's average standard deviation (Karras et al. 2018, §3): a discriminator
/// that sees how varied a batch is can punish a generator that ignores its noise (mode collapse).
/// </summary>
internal sealed class MinibatchStdDev() : Module<Tensor, Tensor>(nameof(MinibatchStdDev))
{
    public override Tensor forward(Tensor x)
    {
        var sd = (x.var(0, unbiased: false) + 1e-8).sqrt().mean();                       // scalar over (C, H, W)
        return cat([x, sd.expand(x.shape[0], 1, x.shape[2], x.shape[3])], 1);              // (B, C + 1, H, W)
    }
}

/// <summary>Latents (B, latent) and class ids (B) → images (B, C, H, W) in [−1, 1].</summary>
public sealed class GanGenerator : Module<Tensor, Tensor, Tensor>
{
    readonly Embedding? class_embed;
    readonly Linear project;
    readonly Sequential body;
    readonly int _c, _s;

    public GanGenerator(GanConfig config) : base(nameof(GanGenerator))
    {
        Numerics.ConvolutionCheck.EnsureCorrect();   // libtorch's oneDNN convolution is wrong on some CPUs
        Config = config.Validate();
        (_c, _s) = (config.Channels, config.ImageSize / 4);
        int c = _c, zIn = config.LatentDim + (config.NumClasses > 0 ? config.LatentDim : 0);
        if (config.NumClasses > 0) class_embed = Embedding(config.NumClasses, config.LatentDim);
        project = Linear(zIn, 4 * c * _s * _s);
        body = Sequential(
            BatchNorm2d(4 * c), ReLU(),                                                          // (B, 4c, H/4, W/4)
            ConvTranspose2d(4 * c, 2 * c, 4, stride: 2, padding: 1), BatchNorm2d(2 * c), ReLU(), // (B, 2c, H/2, W/2)
            ConvTranspose2d(2 * c, c, 4, stride: 2, padding: 1), BatchNorm2d(c), ReLU(),         // (B, c, H, W)
            Conv2d(c, config.InChannels, 3, padding: 1), Tanh());                                // (B, C, H, W)
        RegisterComponents();
        using var _ = no_grad();
        foreach (var bn in modules().OfType<BatchNorm2d>())   // set explicitly (see Norm.Group in UNet.cs)
        {
            bn.weight!.fill_(1);
            bn.bias!.zero_();
        }
    }

    public GanConfig Config { get; }
    public long ParameterCount => parameters().Sum(p => p.numel());

    public override Tensor forward(Tensor z, Tensor y)
    {
        var h = class_embed is null ? z : cat([z, class_embed.forward(y)], 1);                 // (B, zIn)
        return body.forward(project.forward(h).view(-1, 4 * _c, _s, _s));
    }
}

/// <summary>Images (B, C, H, W) and class ids (B) → realness logits (B).</summary>
internal sealed class GanDiscriminator : Module<Tensor, Tensor, Tensor>
{
    readonly Sequential features;
    readonly SpectralNorm head;
    readonly Embedding? class_embed;

    public GanDiscriminator(GanConfig config) : base(nameof(GanDiscriminator))
    {
        Numerics.ConvolutionCheck.EnsureCorrect();   // libtorch's oneDNN convolution is wrong on some CPUs
        config.Validate();
        int c = config.Channels, s = config.ImageSize / 4, flat = (4 * c + 1) * s * s;
        features = Sequential(
            new SpectralNorm(config.InChannels, c, 3, 1, 1), LeakyReLU(0.1),    // (B, c, H, W)
            new SpectralNorm(c, 2 * c, 4, 2, 1), LeakyReLU(0.1),                // (B, 2c, H/2, W/2)
            new SpectralNorm(2 * c, 4 * c, 4, 2, 1), LeakyReLU(0.1),            // (B, 4c, H/4, W/4)
            new MinibatchStdDev(),                                              // (B, 4c + 1, H/4, W/4)
            Flatten());                                                         // φ(x): (B, flat)
        head = new SpectralNorm(flat, 1);
        if (config.NumClasses > 0) class_embed = Embedding(config.NumClasses, flat);
        RegisterComponents();
        if (class_embed is not null)
        {
            using var _ = no_grad();
            class_embed.weight!.normal_(0, 1.0 / Math.Sqrt(flat));             // projection starts small next to ψ
        }
    }

    public override Tensor forward(Tensor x, Tensor y)
    {
        var phi = features.forward(x);
        var logit = head.forward(phi).squeeze(1);                               // ψ(φ(x)): (B)
        return class_embed is null ? logit : logit + (class_embed.forward(y) * phi).sum(1);
    }
}
