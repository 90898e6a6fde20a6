using System.CommandLine;
using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Cli.Commands;

/// <summary>Sampling flags for diffusion models: --sampler --steps --eta --guidance --seed (GANs and VAEs use only the seed).</summary>
sealed class ImageSamplingFlags
{
    readonly Option<string> _sampler = Cli.Opt("--sampler", "Diffusion: ddim or ddpm (every training step)", "ddim");
    readonly Option<int> _steps = Cli.Opt("--steps", "Diffusion: DDIM steps", 25);
    readonly Option<double> _eta = Cli.Opt("--eta", "Diffusion: DDIM noise (0 deterministic, 1 ≈ DDPM)", 0.0);
    readonly Option<double> _guidance = Cli.Opt("--guidance", "Diffusion: classifier-free guidance scale (0 unconditional, 1 conditional)", 3.0);
    readonly Option<long>? _seed;

    /// <param name="withSeed">false where the command already has a --seed of its own (generate).</param>
    public ImageSamplingFlags(bool withSeed = true) => _seed = withSeed ? Cli.Opt<long>("--seed", "Seed of the starting noise", 0) : null;

    public IEnumerable<Option> All => _seed is null ? [_sampler, _steps, _eta, _guidance] : [_sampler, _steps, _eta, _guidance, _seed];

    public long Seed(ParseResult r) => _seed is null ? 0 : r.GetValue(_seed);

    public DiffusionSampling Read(ParseResult r) => new()
    {
        Sampler = r.GetValue(_sampler)!, Steps = r.GetValue(_steps), Eta = r.GetValue(_eta), Guidance = r.GetValue(_guidance),
    };

    /// <summary>Opens any image model with these diffusion settings (checked against the model's schedule when sampling).</summary>
    public IImageGenerator Load(ParseResult r, string dir, Device device) => AutoPipeline.OpenImages(dir, device, Read(r));
}
