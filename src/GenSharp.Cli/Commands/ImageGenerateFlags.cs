using System.CommandLine;
using System.Diagnostics;
using GenSharp.Imaging;
using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Cli.Commands;

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
