using System.Text.RegularExpressions;
using GenSharp.Imaging;
using GenSharp.Server.Api;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GenSharp.Server.Endpoints;

/// <summary>
/// <c>POST /v1/images/generations</c>: a class prompt ("a sneaker") drawn by an image model, returned as base64 PNGs.
/// Our image models are class-conditional, not text-conditional: a prompt that names no class is a 400.
/// </summary>
static partial class ImagesEndpoints
{
    const int MaxImages = 16, MaxScale = 8;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/images/generations", Handle);

    static async Task Handle(HttpContext ctx, ModelRegistry models)
    {
        var cancel = ctx.RequestAborted;
        using var req = await JsonRequest.ReadAsync(ctx.Request, cancel);
        var name = req.RequiredString("model");
        var host = models.FindImageModel(name) ?? throw ApiException.NotFound($"the model '{name}' does not exist or is not an image model; GET /v1/models lists them", "model");
        var prompt = req.RequiredString("prompt");
        int n = req.Integer("n", 1, MaxImages) ?? 1;
        var format = req.OptionalString("response_format") ?? "b64_json";
        if (format != "b64_json") throw ApiException.BadRequest($"response_format '{format}' is not supported: this server returns b64_json only", "response_format");
        int native = host.Generator.ImageSize;
        int scale = Scale(req.OptionalString("size"), native);
        var (label, className) = ClassFor(prompt, host);
        var generator = Sampling(req, host);
        var images = await host.GenerateAsync([.. Enumerable.Repeat(label, n)], req.Long("seed") ?? Random.Shared.NextInt64(), cancel, generator);
        using (images)
            await ctx.Response.WriteAsJsonAsync(new ImageList(TextGeneration.Now(),
                [.. Enumerable.Range(0, n).Select(i => new ImageList.Image(Convert.ToBase64String(ImageGrid.EncodeImage(images.narrow(0, i, 1), scale)),
                    className is null ? "an unconditional sample" : $"a {className.ToLowerInvariant()}"))]), OpenAiJson.Default.ImageList, cancellationToken: cancel);
    }

    // Extensions for diffusion models: "steps" (DDIM) and "guidance" (classifier-free guidance scale).
    static Pipelines.IImageGenerator? Sampling(JsonRequest req, ImageModelHost host)
    {
        if (!req.Has("steps") && !req.Has("guidance")) return null;
        var d = new Pipelines.DiffusionSampling();
        var s = d with { Steps = req.Integer("steps", 1, 1000) ?? d.Steps, Guidance = req.Number("guidance", 0, 50) ?? d.Guidance };
        try { return Pipelines.ImageGenerators.WithSampling(host.Generator, s); }
        catch (ArgumentException e) { throw ApiException.BadRequest($"{host.Name}: {e.Message}", req.Has("steps") ? "steps" : "guidance"); }
    }

    static int Scale(string? size, int native)
    {
        if (size is null || size == "auto") return 1;
        var m = SizePattern().Match(size);
        if (!m.Success || m.Groups[1].Value != m.Groups[2].Value || int.Parse(m.Groups[1].Value) % native != 0 || int.Parse(m.Groups[1].Value) / native is < 1 or > MaxScale)
            throw ApiException.BadRequest($"size must be a square multiple of this model's {native}×{native} images, up to {MaxScale}× (e.g. {native}x{native} or {4 * native}x{4 * native}); got '{size}'", "size");
        return int.Parse(m.Groups[1].Value) / native;
    }

    [GeneratedRegex(@"^(\d{1,4})x(\d{1,4})$")]
    private static partial Regex SizePattern();

    /// <summary>The class a prompt names: "a sneaker", "Sneakers.", "ankle boot" → its index; unconditional models take only an empty prompt.</summary>
    static (int Label, string? Name) ClassFor(string prompt, ImageModelHost host)
    {
        var g = host.Generator;
        var text = Regex.Replace(prompt.Trim().ToLowerInvariant(), @"[.!?]+$", "");
        text = Regex.Replace(text, @"^((a|an|the|one)\s+)?((picture|photo|image|drawing)\s+of\s+)?((a|an|the|one)\s+)?", "");
        if (g.NumClasses == 0)
            return text.Length == 0 ? (0, null) : throw ApiException.BadRequest($"{host.Name} is unconditional: it cannot follow a prompt; send an empty prompt", "prompt");
        var names = g.ClassNames ?? [.. Enumerable.Range(0, g.NumClasses).Select(i => $"{i}")];
        foreach (var candidate in new[] { text, text.TrimEnd('s'), text.EndsWith("es") ? text[..^2] : text })
        {
            try { int k = Data.ClassNames.Index(names, candidate); return (k, names[k]); }
            catch (ArgumentException) { }
        }
        throw ApiException.BadRequest($"{host.Name} draws one of these classes and cannot honour '{prompt}': {string.Join(", ", names)} (e.g. \"a picture of {names[^1].ToLowerInvariant()}\")", "prompt");
    }
}
