using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>Any image model that draws images for class labels: diffusion, GAN, VAE. Images (N, C, H, W) in [−1, 1].</summary>
public interface IImageGenerator
{
    int NumClasses { get; }                      // 0: unconditional (labels only set the count)
    IReadOnlyList<string>? ClassNames { get; }
    string Description { get; }                  // how the images are made, for tables and logs
    int ImageSize { get; }                       // images are ImageSize × ImageSize
    Tensor Generate(IReadOnlyList<int> labels, long seed, CancellationToken cancel = default);
}
