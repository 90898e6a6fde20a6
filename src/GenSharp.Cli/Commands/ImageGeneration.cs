using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Cli.Commands;

/// <summary>Generation in batches with a progress line; shared by generate, eval image and demo.</summary>
static class ImageGeneration
{
    public static Tensor Generate(IImageGenerator model, IReadOnlyList<int> labels, long seed, CancellationToken cancel, int batch = 100)
    {
        Cli.NoteConvolutionCheck();
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
