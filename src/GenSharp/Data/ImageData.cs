using SkiaSharp;
using static TorchSharp.torch;

namespace GenSharp.Data;

/// <summary>Resolves a <c>--data</c> value: "fashion-mnist" (the Debian package) or a folder of images.</summary>
public static class ImageData
{
    public const string FashionMnistName = "fashion-mnist";

    public static ImageDataset Load(string spec, bool train, int size, int channels)
    {
        if (spec.Equals(FashionMnistName, StringComparison.OrdinalIgnoreCase))
        {
            if (size != 28 || channels != 1) throw new ArgumentException($"Fashion-MNIST images are 28×28 grayscale; the model expects {size}×{size} with {channels} channel(s)");
            return FashionMnist.Load(train);
        }
        return ImageFolder.Load(spec, size, channels);
    }

    /// <summary>
    /// Images to score or transform, from any mix of: <c>fashion-mnist</c> (the 10,000 test images),
    /// <c>fashion-mnist:N</c> (test image N), a folder (subfolders = classes) or an image file.
    /// Returns the images with a name for each (the file, or "fashion-mnist:N").
    /// </summary>
    public static (ImageDataset Data, string[] Names) LoadInputs(IReadOnlyList<string> specs, int size, int channels)
    {
        if (specs.Count == 0) throw new ArgumentException("no images given");
        var parts = new List<(ImageDataset, string[])>();
        ImageDataset? testSet = null;   // read once for any number of fashion-mnist:N
        try
        {
            foreach (var spec in specs)
            {
                if (spec.Equals(FashionMnistName, StringComparison.OrdinalIgnoreCase))
                {
                    var test = Load(spec, false, size, channels);
                    parts.Add((test, [.. Enumerable.Range(0, test.Count).Select(i => $"{FashionMnistName}:{i}")]));
                }
                else if (spec.StartsWith(FashionMnistName + ":", StringComparison.OrdinalIgnoreCase))
                {
                    var test = testSet ??= Load(FashionMnistName, false, size, channels);
                    if (!int.TryParse(spec[(FashionMnistName.Length + 1)..], out int i) || i < 0 || i >= test.Count)
                        throw new ArgumentException($"{spec}: the index must be in 0…{test.Count - 1}");
                    var (x, y) = test.Batch([i], CPU);
                    parts.Add((new ImageDataset(x.add(1).mul(127.5).round().to(ScalarType.Byte), y, test.ClassNames), [spec]));
                }
                else if (System.IO.Directory.Exists(spec))
                {
                    var folder = ImageFolder.Load(spec, size, channels);
                    var files = System.IO.Directory.GetDirectories(spec).Length > 0
                        ? System.IO.Directory.GetDirectories(spec).Order(StringComparer.Ordinal).SelectMany(ImageFolder.Files)
                        : ImageFolder.Files(spec);
                    parts.Add((folder, [.. files]));
                }
                else if (File.Exists(spec))
                {
                    var pixels = new byte[channels * size * size];
                    ImageFolder.Decode(spec, size, channels, pixels);
                    using var scope = NewDisposeScope();
                    parts.Add((new ImageDataset(tensor(pixels, ScalarType.Byte).view(1, channels, size, size), tensor(new long[] { 0 }), ["image"]), [spec]));
                }
                else throw new FileNotFoundException($"{spec}: no such image, folder, or fashion-mnist[:N]");
            }
            if (parts.Count == 1) { var one = parts[0]; parts.Clear(); return one; }
            using var s = NewDisposeScope();
            var names = parts[0].Item1.ClassNames;
            bool sameClasses = parts.All(p => p.Item1.ClassNames.SequenceEqual(names));
            var labels = sameClasses ? cat(parts.Select(p => p.Item1.Labels).ToArray()) : zeros(parts.Sum(p => p.Item1.Count), int64);
            return (new ImageDataset(cat(parts.Select(p => p.Item1.Images).ToArray()), labels, sameClasses ? names : ["image"]), [.. parts.SelectMany(p => p.Item2)]);
        }
        finally
        {
            foreach (var (d, _) in parts) d.Dispose();
            testSet?.Dispose();
        }
    }
}
