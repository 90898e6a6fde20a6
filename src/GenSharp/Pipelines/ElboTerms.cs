using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>Per-image terms of the negative ELBO, in nats: reconstruction −E_q[log p(x|z)] and KL(q(z|x) ‖ p(z)).</summary>
internal sealed record ElboTerms(Tensor Reconstruction, Tensor Kl)
{
    /// <summary>−ELBO per image with the KL weighted by β (β = 1: the true bound).</summary>
    public Tensor NegativeElbo(double beta = 1.0) => Reconstruction + beta * Kl;
}
