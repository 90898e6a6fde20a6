using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Models;

// Convolutional variational autoencoder (Kingma & Welling 2014): q(z|x) = N(μ(x), diag σ²(x)), p(z) = N(0, I),
// p(x|z) Bernoulli on pixel intensities in [0, 1] (the decoder returns logits). Tensors in, tensors out; the
// ELBO lives in Training/VaeLoss.cs.

/// <summary>Encoder images (B, C, H, W) in [−1, 1] → (μ, log σ²) each (B, latent); decoder latents → pixel logits (B, C, H, W).</summary>
public sealed class Vae : Module<Tensor, (Tensor Mu, Tensor LogVar)>
{
    readonly Sequential encoder;
    readonly Linear to_mu, to_logvar;
    readonly Linear from_latent;
    readonly Sequential decoder;
    readonly int _c, _s;

    public Vae(VaeConfig config) : base(nameof(Vae))
    {
        Numerics.ConvolutionCheck.EnsureCorrect();   // libtorch's oneDNN convolution is wrong on some CPUs
        Config = config.Validate();
        (_c, _s) = (config.Channels, config.ImageSize / 4);
        int c = _c, flat = 2 * c * _s * _s;
        encoder = Sequential(
            Conv2d(config.InChannels, c, 4, stride: 2, padding: 1), SiLU(),          // (B, c, H/2, W/2)
            Conv2d(c, 2 * c, 4, stride: 2, padding: 1), SiLU(),                      // (B, 2c, H/4, W/4)
            Flatten());
        to_mu = Linear(flat, config.LatentDim);
        to_logvar = Linear(flat, config.LatentDim);
        from_latent = Linear(config.LatentDim, flat);
        decoder = Sequential(
            SiLU(), ConvTranspose2d(2 * c, c, 4, stride: 2, padding: 1), SiLU(),    // (B, c, H/2, W/2)
            ConvTranspose2d(c, config.InChannels, 4, stride: 2, padding: 1));       // (B, C, H, W) logits
        RegisterComponents();
    }

    public VaeConfig Config { get; }
    public long ParameterCount => parameters().Sum(p => p.numel());

    public override (Tensor Mu, Tensor LogVar) forward(Tensor x)
    {
        var h = encoder.forward(x);
        return (to_mu.forward(h), to_logvar.forward(h));
    }

    /// <summary>Pixel logits of p(x|z) for latents (B, latent).</summary>
    public Tensor Decode(Tensor z) => decoder.forward(from_latent.forward(z).view(-1, 2 * _c, _s, _s));
}
