using GenSharp.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Evaluation;

/// <summary>
/// FID-FMNIST: the Fréchet distance (Heusel et al. 2017, eq. 6) between Gaussians fitted to classifier
/// features of generated and real images, d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½), computed in
/// float64 with symmetric eigendecompositions. The Inception-Score-style score is exp(E_x KL(p(y|x) ‖ p(y)))
/// (Salimans et al. 2016) with our classifier; conditional accuracy is how often it recognises the class
/// that was asked for. Numbers are only comparable between runs with the same classifier and sample count.
/// </summary>
public static class ImageMetrics
{
    /// <summary>Features (N, D) and class probabilities (N, K) of images (N, C, H, W) in [−1, 1], in batches.</summary>
    public static (Tensor Features, Tensor Probs) Embed(FashionClassifier classifier, Tensor images, int batch = 500)
    {
        classifier.eval();
        using var _ = no_grad();
        var device = classifier.parameters().First().device;
        var feats = new List<Tensor>();
        var probs = new List<Tensor>();
        for (long i = 0; i < images.shape[0]; i += batch)
        {
            var x = images.narrow(0, i, Math.Min(batch, images.shape[0] - i)).to(device);
            var f = classifier.Features(x);
            feats.Add(f.cpu().to(float64));
            probs.Add(F.softmax(classifier.Classify(f), 1).cpu().to(float64));   // features computed once
        }
        return (cat(feats), cat(probs));
    }

    public static ImageScores Score(FashionClassifier classifier, Tensor images, Tensor referenceFeatures, IReadOnlyList<int>? requestedClasses = null)
    {
        using var scope = NewDisposeScope();
        var (features, probs) = Embed(classifier, images);
        double? accuracy = requestedClasses is null ? null
            : probs.argmax(1).eq(tensor(requestedClasses.Select(c => (long)c).ToArray())).to(float64).mean().item<double>();
        return new ImageScores((int)images.shape[0], FrechetDistance(features, referenceFeatures), InceptionScore(probs), accuracy);
    }

    public static double FrechetDistance(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var (mu1, s1) = MeanCov(a.to(float64));
        var (mu2, s2) = MeanCov(b.to(float64));
        var root1 = SqrtPsd(s1);
        var cross = SqrtPsd(root1.matmul(s2).matmul(root1));                     // (Σ₁^½ Σ₂ Σ₁^½)^½, symmetric PSD
        return ((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * cross.trace()).item<double>();
    }

    public static double InceptionScore(Tensor probs)
    {
        using var scope = NewDisposeScope();
        var p = probs.to(float64).clamp_min(1e-12);
        var marginal = p.mean([0], keepdim: true);
        return Math.Exp((p * (p.log() - marginal.log())).sum(1).mean().item<double>());
    }

    static (Tensor Mean, Tensor Cov) MeanCov(Tensor x)
    {
        if (x.shape[0] < 2) throw new ArgumentException("FID needs at least 2 images per set");
        var mu = x.mean([0]);
        var centred = x - mu;
        return (mu, centred.t().matmul(centred) / (x.shape[0] - 1));
    }

    // Square root of a symmetric positive semi-definite matrix: V·diag(√max(λ, 0))·Vᵀ.
    static Tensor SqrtPsd(Tensor m)
    {
        var (values, vectors) = linalg.eigh((m + m.t()) / 2);
        return vectors.matmul(diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
    }
}
