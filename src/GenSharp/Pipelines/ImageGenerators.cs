using GenSharp.Models;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>Image generators over the image pipelines; opened by <see cref="AutoPipeline"/>.</summary>
public static class ImageGenerators
{
    /// <summary>A diffusion pipeline as an image generator with these sampler settings.</summary>
    public static IImageGenerator Diffusion(DiffusionPipeline pipeline, DiffusionSampling? sampling = null) =>
        new GuidedDiffusion(pipeline, sampling ?? new DiffusionSampling());

    /// <summary>The same diffusion model with other sampler settings (validated against its schedule); other models cannot take them.</summary>
    public static IImageGenerator WithSampling(IImageGenerator generator, DiffusionSampling sampling) => generator is GuidedDiffusion d
        ? new GuidedDiffusion(d.Pipeline, sampling.Validate(d.Pipeline.Schedule.Steps))
        : throw new ArgumentException("sampler settings (steps, guidance) apply to diffusion models only");

    sealed class GuidedDiffusion(DiffusionPipeline pipeline, DiffusionSampling sampling) : IImageGenerator
    {
        public DiffusionPipeline Pipeline => pipeline;
        public int NumClasses => pipeline.Model.Config.NumClasses;
        public IReadOnlyList<string>? ClassNames => pipeline.Model.Config.ClassNames;
        public int ImageSize => pipeline.Model.Config.ImageSize;
        public string Description => $"{(sampling.Sampler == "ddpm" ? $"DDPM-{pipeline.Schedule.Steps}" : $"DDIM-{sampling.Steps} (η {sampling.Eta})")}, guidance {sampling.Guidance}";
        public Tensor Generate(IReadOnlyList<int> labels, long seed, CancellationToken cancel = default) =>
            pipeline.Generate(labels, sampling with { Seed = seed }, cancel);
    }
}
