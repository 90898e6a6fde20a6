using GenSharp.IO;
using SkiaSharp;
using static TorchSharp.torch;

namespace GenSharp.Imaging;

/// <summary>Writes a batch of images as one PNG grid (SkiaSharp), atomically.</summary>
public static class ImageGrid
{
    /// <summary>
    /// <paramref name="images"/> (N, C, H, W) with C = 1 or 3, values in [-1, 1]; <paramref name="columns"/> per row;
    /// each pixel drawn as a <paramref name="scale"/>×<paramref name="scale"/> block, 2-pixel gaps.
    /// </summary>
    public static void Save(string path, Tensor images, int columns = 8, int scale = 2) => AtomicFile.WriteAllBytes(path, Encode(images, columns, scale));

    /// <summary>One image (1, C, H, W) as a PNG of exactly (H·scale) × (W·scale) pixels: no border.</summary>
    public static byte[] EncodeImage(Tensor image, int scale = 1) => Encode(image, 1, scale, gap: 0);

    /// <summary>The PNG bytes of the grid <see cref="Save"/> writes.</summary>
    public static byte[] Encode(Tensor images, int columns = 8, int scale = 2, int gap = 2)
    {
        if (images.dim() != 4 || images.shape[1] is not (1 or 3))
            throw new ArgumentException($"expected images (N, 1|3, H, W), got [{string.Join(", ", images.shape)}]");
        var bytes = ToBytes(images);
        int n = (int)images.shape[0], c = (int)images.shape[1], h = (int)images.shape[2], w = (int)images.shape[3];
        columns = Math.Max(1, Math.Min(columns, n));
        int rows = (n + columns - 1) / columns;
        int width = columns * (w * scale + gap) + gap, height = rows * (h * scale + gap) + gap;
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(new SKColor(40, 40, 40));
        for (int i = 0; i < n; i++)
        {
            int ox = gap + (i % columns) * (w * scale + gap), oy = gap + (i / columns) * (h * scale + gap);
            for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int p = i * c * h * w + y * w + x;
                var color = c == 1 ? new SKColor(bytes[p], bytes[p], bytes[p]) : new SKColor(bytes[p], bytes[p + h * w], bytes[p + 2 * h * w]);
                for (int dy = 0; dy < scale; dy++)
                for (int dx = 0; dx < scale; dx++)
                    bitmap.SetPixel(ox + x * scale + dx, oy + y * scale + dy, color);
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>[-1, 1] floats → bytes (rounded, clamped), in (N, C, H, W) order.</summary>
    public static byte[] ToBytes(Tensor images)
    {
        using var scope = NewDisposeScope();
        return images.detach().cpu().to(float32).add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Byte).contiguous().data<byte>().ToArray();
    }
}
