using GenSharp.Numerics;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>
/// Inference with a trained <see cref="Vae"/>: samples from the prior, reconstructions, latent interpolations and
/// per-image anomaly scores (−ELBO). Images are (N, C, H, W) in [−1, 1]; a decoded image is the mean of p(x|z).
/// </summary>
public sealed class VaePipeline(Vae model) : IImageGenerator
{
    public Vae Model => model;
    public int NumClasses => 0;
    public int ImageSize => model.Config.ImageSize;
    public IReadOnlyList<string>? ClassNames => null;
    public string Description => $"VAE prior samples (latent {model.Config.LatentDim})";

    Device Device => model.parameters().First().device;

    /// <summary>z ~ N(0, I), decoded. Labels only set the count: the VAE is unconditional.</summary>
    public Tensor Generate(IReadOnlyList<int> labels, long seed, CancellationToken cancel = default)
    {
        using var _ = no_grad();
        var z = randn([labels.Count, model.Config.LatentDim], generator: new Generator((ulong)seed, Device), device: Device);
        return FiniteCheck.Images(Decode(z), "the VAE");
    }

    /// <summary>Images through the encoder's mean and back.</summary>
    public Tensor Reconstruct(Tensor images)
    {
        using var _ = no_grad();
        return Decode(Encode(images));
    }

    /// <summary><paramref name="steps"/> images on the line between the latent means of <paramref name="a"/> and <paramref name="b"/> (each (C, H, W)), ends included.</summary>
    public Tensor Interpolate(Tensor a, Tensor b, int steps)
    {
        if (steps < 2) throw new ArgumentException($"interpolation needs at least 2 steps (got {steps})");
        using var _ = no_grad();
        var mu = Encode(stack([a, b]));                                                       // (2, latent)
        var w = linspace(0, 1, steps, device: mu.device).unsqueeze(1);                        // (steps, 1)
        return Decode(mu[0] * (1 - w) + mu[1] * w);
    }

    /// <summary>
    /// Per-image anomaly score: −ELBO in nats (reconstruction + KL, β = 1), averaged over <paramref name="samples"/>
    /// draws of z; higher means the model finds the image less likely.
    /// </summary>
    public Tensor NegativeElbo(Tensor images, int samples = 8, long seed = 0)
    {
        if (samples < 1) throw new ArgumentException($"samples must be ≥ 1 (got {samples})");
        using var _ = no_grad();
        var gen = new Generator((ulong)seed, Device);
        var x = images.to(Device);
        Tensor total = zeros(x.shape[0], device: Device);
        for (int k = 0; k < samples; k++) total += VaeLoss.Terms(model, x, gen).NegativeElbo();
        return total / samples;
    }

    /// <summary>
    /// −ELBO of every image of <paramref name="data"/> in nats (see <see cref="NegativeElbo(Tensor, int, long)"/>),
    /// in batches of 500; batch b draws its z with seed <paramref name="seed"/> + its first index.
    /// </summary>
    public double[] NegativeElbo(ImageDataset data, int samples = 8, long seed = 0)
    {
        var scores = new double[data.Count];
        for (int i = 0; i < data.Count; i += 500)
        {
            using var scope = NewDisposeScope();
            var (x, _) = data.Batch([.. Enumerable.Range(i, Math.Min(500, data.Count - i)).Select(j => (long)j)], Device);
            NegativeElbo(x, samples, seed + i).cpu().to(float64).data<double>().ToArray().CopyTo(scores, i);
        }
        return scores;
    }

    Tensor Encode(Tensor images) => model.forward(images.to(Device)).Mu;

    Tensor Decode(Tensor z) => model.Decode(z).sigmoid().mul(2).sub(1);   // mean of p(x|z), back to [−1, 1]

    public void Save(string dir, string? modelCard = null) => ModelDirectory.SaveModule(dir, model, model.Config.ToJson(), modelCard);

    public static VaePipeline Load(string dir, Device? device = null) => Load(ModelDirectory.ReadConfigFile(dir), device);

    public static VaePipeline Load(ModelConfigFile config, Device? device = null) =>
        new(ModelDirectory.LoadModule<VaeConfig, Vae>(config, "VAE", c => c.Validate(), c => new Vae(c), device));
}
