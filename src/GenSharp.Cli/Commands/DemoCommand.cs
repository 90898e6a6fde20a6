using System.CommandLine;
using System.Text.Json;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp demo</c>: the bundled Shakespeare model writes a passage; its metrics are shown.</summary>
static class DemoCommand
{
    public const string BundledModel = "models/shakespeare-char";

    public static Command Create()
    {
        var maxTokens = Cli.Opt("--max-tokens", "Characters to generate", 500);
        var seed = Cli.Opt<long>("--seed", "Random seed", 1337);
        var prompt = Cli.Opt("--prompt", "Opening text", "ROMEO:\n");
        var imageOut = Cli.Opt("--image-out", "Where the diffusion model's grid (one image per class) goes", Path.Combine("out", "fmnist-classes.png"));
        var compute = new ComputeFlags();
        var cmd = new Command("demo", "Run the bundled models on their defaults") { maxTokens, seed, prompt, imageOut };
        compute.AddTo(cmd);
        cmd.SetAction(r => Cli.Run(() =>
        {
            var device = compute.Resolve(r);
            var dir = Cli.FindShipped(BundledModel);
            var pipeline = AutoPipeline.OpenText(dir, device, ContextOverflow.Slide);
            AnsiConsole.Write(new Rule($"[bold]{BundledModel}[/] — {Cli.Describe(pipeline.Model)}").LeftJustified());
            PrintMetrics(dir);
            var text = r.GetValue(prompt)!;
            var options = new GenerationOptions { Temperature = 0.8, MaxTokens = r.GetValue(maxTokens), Seed = r.GetValue(seed) };
            var chunks = pipeline.Stream(text, options);   // validates first
            Console.Write(text);
            foreach (var chunk in chunks)
                Console.Write(chunk.Text);
            Console.WriteLine();
            DrawClasses(r.GetValue(imageOut)!, r.GetValue(seed), device);
            AnsiConsole.Write(new Rule().LeftJustified());
            AnsiConsole.MarkupLine("more: [bold]./gensharp generate --model models/shakespeare-char --prompt \"…\"[/], " +
                                   "[bold]./gensharp generate --model models/fmnist-diffusion --class sneaker --n 8[/], " +
                                   "[bold]./gensharp serve[/] (API and playground on http://127.0.0.1:8080/), [bold]./gensharp --help[/]");
            return 0;
        }));
        return cmd;
    }

    // The bundled diffusion model draws one image of each Fashion-MNIST class.
    static void DrawClasses(string path, long seed, TorchSharp.torch.Device device)
    {
        var dir = Cli.FindShipped(ImageCommands.BundledDiffusion);
        var s = new DiffusionSampling { Sampler = "ddim", Steps = 25, Guidance = 3, Seed = seed };
        var generator = AutoPipeline.OpenImages(dir, device, s);
        AnsiConsole.Write(new Rule($"[bold]{ImageCommands.BundledDiffusion}[/] — {generator.Description}").LeftJustified());
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var images = ImageGeneration.Generate(generator, [.. Enumerable.Range(0, Math.Max(1, generator.NumClasses))], seed, CancellationToken.None);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Imaging.ImageGrid.Save(path, images, columns: 10, scale: 4);
        AnsiConsole.MarkupLineInterpolated($"one image per class ({string.Join(", ", generator.ClassNames ?? [])}), {sw.Elapsed.TotalSeconds:F1} s:");
        AnsiConsole.MarkupLineInterpolated($"  [bold]{Path.GetFullPath(path)}[/]");
    }

    static void PrintMetrics(string dir)
    {
        using var metrics = ModelDirectory.ReadMetrics(dir);
        if (metrics is null) return;
        var table = new Table().AddColumns("metric", "value");
        foreach (var p in metrics.RootElement.EnumerateObject())
            if (p.Value.ValueKind is JsonValueKind.Number) table.AddRow(p.Name.Replace('_', ' '), p.Value.GetDouble().ToString("0.####"));
        AnsiConsole.Write(table);
    }
}
