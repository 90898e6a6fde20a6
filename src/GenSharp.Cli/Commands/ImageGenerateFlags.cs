using System.CommandLine;
using System.Diagnostics;
using GenSharp.Imaging;
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

/// <summary>Generation in batches with a progress line; shared by generate, eval image and demo.</summary>
static class ImageGeneration
{
    public static Tensor Generate(IImageGenerator model, IReadOnlyList<int> labels, long seed, CancellationToken cancel, int batch = 100)
    {
        var parts = new List<Tensor>();
        for (int i = 0; i < labels.Count; i += batch)
        {
            cancel.ThrowIfCancellationRequested();
            var chunk = labels.Skip(i).Take(batch).ToArray();
            parts.Add(model.Generate(chunk, seed + i, cancel).cpu());
            if (labels.Count > batch) Console.Error.WriteLine($"generated {Math.Min(i + batch, labels.Count)}/{labels.Count}");
        }
        return cat(parts);
    }
}

/// <summary>The image half of <c>gensharp generate</c>: class names in, a PNG grid out.</summary>
sealed class ImageGenerateFlags
{
    public readonly Option<string[]> Class = new("--class") { Description = "Image models: class to draw (repeatable or comma-separated; default: every class)" };
    public readonly Option<string> Out = Cli.Opt("--out", "Image models: PNG grid to write", "samples.png");
    public readonly ImageSamplingFlags Sampling = new(withSeed: false);

    public IEnumerable<Option> All => [Class, Out, .. Sampling.All];

    public int Run(ParseResult r, string dir, int n, long? seed, Device device)
    {
        if (n < 1 || n > 1000) throw new UserError($"--n must be in 1…1000 for images (got {n})");
        var model = Sampling.Load(r, dir, device);
        var names = (r.GetValue(Class) ?? []).SelectMany(v => v.Split(',')).Where(v => v.Trim().Length > 0).ToArray();
        if (model.NumClasses == 0 && names.Length > 0) throw new UserError($"{dir} is unconditional: it cannot draw a chosen class (drop --class)");
        int[] classes = model.NumClasses == 0 ? [0]
            : names.Length == 0 ? [.. Enumerable.Range(0, model.NumClasses)]
            : names.Select(v => Data.ClassNames.Index(model.ClassNames ?? [.. Enumerable.Range(0, model.NumClasses).Select(i => $"{i}")], v)).ToArray();
        var labels = Enumerable.Range(0, n).SelectMany(_ => classes).ToArray();   // one row per repetition
        var cancel = Cli.CancelOnSignals();
        var sw = Stopwatch.StartNew();
        using var images = ImageGeneration.Generate(model, labels, seed ?? 0, cancel);
        var path = r.GetValue(Out)!;
        ImageGrid.Save(path, images, columns: classes.Length == 1 ? Math.Min(n, 8) : classes.Length, scale: 3);
        Console.WriteLine($"wrote {path}: {labels.Length} image(s) of {string.Join(", ", classes.Distinct().Select(k => model.ClassNames?[k] ?? "unconditional"))} " +
                          $"({model.Description}, {sw.Elapsed.TotalSeconds:F1} s)");
        return 0;
    }
}
