using GenSharp.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Pipelines;

/// <summary>The VAE objective (Kingma &amp; Welling 2014, eq. 10) with one reparameterised sample z = μ + σ·ε.</summary>
internal static class VaeLoss
{
    /// <summary>KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − log σ² − 1), per row (appendix B).</summary>
    public static Tensor Kl(Tensor mu, Tensor logVar) => 0.5 * (mu.pow(2) + logVar.exp() - logVar - 1).sum(1);

    /// <summary>
    /// Terms for images x (B, C, H, W) in [−1, 1]; pixels are modelled as Bernoulli with p = intensity in
    /// [0, 1] (the usual continuous relaxation for Fashion-MNIST, so "nats" are relative to that model).
    /// </summary>
    public static ElboTerms Terms(Vae vae, Tensor x, Generator? generator = null)
    {
        var (mu, logVar) = vae.forward(x);
        var eps = randn(mu.shape, generator: generator, device: mu.device);
        var z = mu + (0.5 * logVar).exp() * eps;                                      // reparameterisation trick
        var target = (x + 1) / 2;
        var rec = F.binary_cross_entropy_with_logits(vae.Decode(z), target, reduction: nn.Reduction.None).flatten(1).sum(1);
        return new ElboTerms(rec, Kl(mu, logVar));
    }
}
