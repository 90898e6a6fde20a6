using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenSharp.Optim;

/// <summary>Exponential moving average of a model's weights (used for sampling diffusion models and GAN generators).</summary>
public static class Ema
{
    public static void Copy(Module from, Module to)
    {
        using var _ = no_grad();
        foreach (var (a, b) in to.parameters().Zip(from.parameters())) a.copy_(b);
        foreach (var (a, b) in to.buffers().Zip(from.buffers())) a.copy_(b);
    }

    /// <summary>θ_ema ← d θ_ema + (1 − d) θ with warm-up: d = min(decay, (1 + n)/(10 + n)), so early
    /// weights are not dominated by the random init. Buffers (BatchNorm statistics) are copied.</summary>
    public static void Update(Module ema, Module model, double decay, long step)
    {
        double d = Math.Min(decay, (1.0 + step) / (10.0 + step));
        using var _ = no_grad();
        foreach (var (e, p) in ema.parameters().Zip(model.parameters())) e.mul_(d).add_(p, alpha: 1 - d);
        foreach (var (e, p) in ema.buffers().Zip(model.buffers())) e.copy_(p);
    }
}
