using SkiaSharp;
using static TorchSharp.torch;

namespace GenSharp.Data;

/// <summary>
/// A folder of PNG/JPEG pictures: subfolders are classes (sorted by name), or a flat folder is one class.
/// Images are resized to a square (SkiaSharp, high-quality sampling) and converted to 1 or 3 channels.
/// </summary>
internal static class ImageFolder
{
    static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    public static ImageDataset Load(string dir, int size, int channels)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: image folder not found");
        if (channels is not (1 or 3)) throw new ArgumentException($"channels must be 1 or 3 (got {channels})");
        var classDirs = Directory.GetDirectories(dir).Order(StringComparer.Ordinal).ToArray();
        var groups = classDirs.Length > 0
            ? classDirs.Select(d => (Name: Path.GetFileName(d), Files: Images(d))).Where(g => g.Files.Length > 0).ToArray()
            : [(Name: Path.GetFileName(Path.GetFullPath(dir)), Files: Images(dir))];
        int total = groups.Sum(g => g.Files.Length);
        if (total == 0) throw new InvalidDataException($"{dir}: no .png/.jpg/.jpeg images found");
        var pixels = new byte[(long)total * channels * size * size];
        var labels = new long[total];
        int i = 0;
        for (int c = 0; c < groups.Length; c++)
            foreach (var file in groups[c].Files)
            {
                Decode(file, size, channels, pixels.AsSpan(i * channels * size * size, channels * size * size));
                labels[i++] = c;
            }
        using var scope = NewDisposeScope();
        return new ImageDataset(tensor(pixels, ScalarType.Byte).view(total, channels, size, size), tensor(labels), groups.Select(g => g.Name).ToArray());
    }

    /// <summary>The image files of one folder in load order.</summary>
    public static string[] Files(string dir) => Images(dir);

    static string[] Images(string dir) =>
        Directory.GetFiles(dir).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Decodes one image into <paramref name="into"/> as (C, size, size) bytes; errors name the file.</summary>
    public static void Decode(string file, int size, int channels, Span<byte> into)
    {
        using var original = SKBitmap.Decode(file) ?? throw new InvalidDataException($"{file}: not a readable PNG or JPEG image (corrupt or unsupported)");
        using var resized = original.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidDataException($"{file}: could not be resized to {size}×{size}");
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            var p = resized.GetPixel(x, y);
            if (channels == 1) into[y * size + x] = (byte)Math.Round(0.299 * p.Red + 0.587 * p.Green + 0.114 * p.Blue);   // ITU-R BT.601 luma
            else
            {
                into[y * size + x] = p.Red;
                into[size * size + y * size + x] = p.Green;
                into[2 * size * size + y * size + x] = p.Blue;
            }
        }
    }
}
