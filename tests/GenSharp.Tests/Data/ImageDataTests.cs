using System.IO.Compression;
using GenSharp.Data;
using GenSharp.Imaging;
using SkiaSharp;
using static TorchSharp.torch;

namespace GenSharp.Tests.Data;

public sealed class ImageDataTests : TempDirectoryTest
{
    [Fact]
    public void ReadsTheRealFashionMnistFiles()
    {
        var (shape, data) = IdxFile.Read(Path.Combine(FashionMnist.DebianDirectory, "t10k-labels-idx1-ubyte.gz"));
        Assert.Equal([10_000], shape);
        Assert.Equal(9, data[0]);                       // the first test image is an ankle boot
        using var test = FashionMnist.Load(train: false);
        Assert.Equal((10_000, 1, 28, 28), (test.Count, test.Channels, test.Height, test.Width));
        Assert.Equal(1000, test.Labels.eq(7).sum().item<long>());   // 1000 per class
        var (x, y) = test.Batch([0, 1], CPU);
        Assert.True(x.min().item<float>() >= -1 && x.max().item<float>() <= 1);
        Assert.Equal(9, y[0].item<long>());
    }

    byte[] Idx(params int[] dims)
    {
        var header = new List<byte> { 0, 0, 0x08, (byte)dims.Length };
        foreach (var d in dims) header.AddRange(BitConverter.GetBytes(d).Reverse());
        return [.. header, .. new byte[dims.Aggregate(1, (a, b) => a * b)]];
    }

    string Write(string name, byte[] bytes, bool gzip = false)
    {
        var path = Path.Combine(_dir, name);
        if (!gzip) File.WriteAllBytes(path, bytes);
        else
        {
            using var f = File.Create(path);
            using var z = new GZipStream(f, CompressionLevel.Fastest);
            z.Write(bytes);
        }
        return path;
    }

    [Fact]
    public void MalformedIdxFilesAreRejectedWithTheirProblem()
    {
        Assert.Equal([2, 3], IdxFile.Read(Write("ok.gz", Idx(2, 3), gzip: true)).Shape);
        var full = Idx(4, 5);
        Assert.Contains("truncated: the header promises 20 bytes of data, the file has 12", Assert.Throws<InvalidDataException>(() => IdxFile.Read(Write("short", full[..^8]))).Message);
        Assert.Contains("3 unexpected bytes after the data", Assert.Throws<InvalidDataException>(() => IdxFile.Read(Write("long", [.. full, 1, 2, 3]))).Message);
        Assert.Contains("not an IDX file", Assert.Throws<InvalidDataException>(() => IdxFile.Read(Write("magic", [7, 7, 8, 1, 0, 0, 0, 1, 0]))).Message);
        Assert.Contains("element type 0x0D", Assert.Throws<InvalidDataException>(() => IdxFile.Read(Write("float", [0, 0, 0x0D, 1, 0, 0, 0, 1, 0]))).Message);
        Assert.Contains("dimension 0 has size 0", Assert.Throws<InvalidDataException>(() => IdxFile.Read(Write("zero", [0, 0, 8, 1, 0, 0, 0, 0]))).Message);
        Assert.Contains("truncated header", Assert.Throws<InvalidDataException>(() => IdxFile.Read(Write("hdr", [0, 0, 8, 3, 0, 0]))).Message);
        var gz = File.ReadAllBytes(Write("cut.gz", Idx(50, 50), gzip: true));
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(Write("cut2.gz", gz[..(gz.Length / 2)])));
        Assert.Contains("cut2.gz", e.Message);
        Assert.Throws<FileNotFoundException>(() => IdxFile.Read(Path.Combine(_dir, "missing")));
    }

    [Fact]
    public void ClassNamesResolveAndUnknownOnesListTheChoices()
    {
        Assert.Equal(7, FashionMnist.ClassIndex("Sneaker"));
        Assert.Equal(9, FashionMnist.ClassIndex("ankle boot"));
        Assert.Equal(0, FashionMnist.ClassIndex("t-shirt"));
        Assert.Equal(3, FashionMnist.ClassIndex("3"));
        var e = Assert.Throws<ArgumentException>(() => FashionMnist.ClassIndex("hat"));
        Assert.Contains("unknown class 'hat'", e.Message);
        Assert.Contains("sneaker", e.Message);
    }

    static void Png(string path, SKColor color, int size = 10)
    {
        using var bmp = new SKBitmap(size, size);
        bmp.Erase(color);
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    [Fact]
    public void ImageFoldersLoadClassesResizeAndRejectBadFiles()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "set", "cats"));
        Directory.CreateDirectory(Path.Combine(_dir, "set", "dogs"));
        Png(Path.Combine(_dir, "set", "cats", "a.png"), new SKColor(255, 255, 255), 40);
        Png(Path.Combine(_dir, "set", "dogs", "b.png"), new SKColor(255, 0, 0), 12);
        using var gray = ImageFolder.Load(Path.Combine(_dir, "set"), 8, 1);
        Assert.Equal(["cats", "dogs"], gray.ClassNames);
        Assert.Equal([2L, 1, 8, 8], gray.Images.shape);
        Assert.Equal(255, gray.Images[0, 0, 4, 4].item<byte>());
        Assert.Equal(76, gray.Images[1, 0, 4, 4].item<byte>());     // BT.601 luma of pure red: 0.299 · 255
        using var rgb = ImageFolder.Load(Path.Combine(_dir, "set"), 8, 3);
        Assert.Equal([255, 0, 0], new[] { 0, 1, 2 }.Select(c => (int)rgb.Images[1, c, 3, 3].item<byte>()));

        Directory.CreateDirectory(Path.Combine(_dir, "empty"));
        Assert.Contains("no .png/.jpg/.jpeg images", Assert.Throws<InvalidDataException>(() => ImageFolder.Load(Path.Combine(_dir, "empty"), 8, 1)).Message);
        File.WriteAllText(Path.Combine(_dir, "set", "cats", "broken.png"), "not a png");
        Assert.Contains("broken.png: not a readable PNG or JPEG", Assert.Throws<InvalidDataException>(() => ImageFolder.Load(Path.Combine(_dir, "set"), 8, 1)).Message);
    }

    [Fact]
    public void InputsMixTestImagesFoldersAndFilesWithTheirNames()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "in", "x"));
        Png(Path.Combine(_dir, "in", "x", "a.png"), new SKColor(255, 255, 255), 28);
        Png(Path.Combine(_dir, "b.png"), new SKColor(0, 0, 0), 28);
        var (data, names) = ImageData.LoadInputs(["fashion-mnist:3", Path.Combine(_dir, "in"), Path.Combine(_dir, "b.png")], 28, 1);
        using (data)
        {
            Assert.Equal(["fashion-mnist:3", Path.Combine(_dir, "in", "x", "a.png"), Path.Combine(_dir, "b.png")], names);
            using var test = FashionMnist.Load(false);
            Assert.True(data.Images[0].equal(test.Images[3]).all().item<bool>());
            Assert.Equal(255, data.Images[1, 0, 5, 5].item<byte>());
            Assert.Equal(["image"], data.ClassNames);   // mixed sources: no common classes
        }
        var (whole, all) = ImageData.LoadInputs(["fashion-mnist"], 28, 1);
        using (whole) Assert.Equal((10_000, "fashion-mnist:9999"), (whole.Count, all[^1]));
        Assert.Contains("index must be in 0…9999", Assert.Throws<ArgumentException>(() => ImageData.LoadInputs(["fashion-mnist:10000"], 28, 1)).Message);
        Assert.Contains("nope.png: no such image", Assert.Throws<FileNotFoundException>(() => ImageData.LoadInputs([Path.Combine(_dir, "nope.png")], 28, 1)).Message);
    }

    [Fact]
    public void GridPngHasTheExpectedSizeAndPixels()
    {
        var path = Path.Combine(_dir, "grid.png");
        var images = cat([full(1, 1, 4, 4, -1f), full(1, 1, 4, 4, 1f), zeros(1, 1, 4, 4)]);
        ImageGrid.Save(path, images, columns: 2, scale: 3);
        using var bmp = SKBitmap.Decode(path);
        Assert.Equal((2 * (12 + 2) + 2, 2 * (12 + 2) + 2), (bmp.Width, bmp.Height));
        Assert.Equal(0, bmp.GetPixel(3, 3).Red);                 // first image: black
        Assert.Equal(255, bmp.GetPixel(2 + 14 + 1, 3).Red);      // second: white
        Assert.Equal(128, bmp.GetPixel(3, 2 + 14 + 1).Red);      // third (value 0): mid-grey
    }
}
