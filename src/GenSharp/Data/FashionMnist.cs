using static TorchSharp.torch;

namespace GenSharp.Data;

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017): 70 000 grayscale 28×28 images of 10 clothing classes, read from the IDX
/// files of Debian's <c>dataset-fashion-mnist</c> (installed by set-up) or a directory in GENSHARP_FASHION_MNIST.
/// </summary>
public static class FashionMnist
{
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    public static readonly IReadOnlyList<string> ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    static readonly Dictionary<string, int> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["t-shirt"] = 0, ["tshirt"] = 0, ["t-shirt/top"] = 0, ["top"] = 0, ["tee"] = 0,
        ["trouser"] = 1, ["trousers"] = 1, ["pants"] = 1, ["pullover"] = 2, ["sweater"] = 2, ["dress"] = 3, ["coat"] = 4,
        ["sandal"] = 5, ["sandals"] = 5, ["shirt"] = 6, ["sneaker"] = 7, ["sneakers"] = 7, ["bag"] = 8, ["handbag"] = 8,
        ["ankle boot"] = 9, ["ankle-boot"] = 9, ["boot"] = 9, ["boots"] = 9,
    };

    /// <summary>Class index for a name ("sneaker", "Ankle boot", "7"); throws listing the valid names.</summary>
    public static int ClassIndex(string name)
    {
        var key = name.Trim();
        if (Aliases.TryGetValue(key, out int i)) return i;
        if (int.TryParse(key, out i) && i >= 0 && i < ClassNames.Count) return i;
        throw new ArgumentException($"unknown class '{name}'; use one of: {string.Join(", ", ClassNames.Select(c => c.ToLowerInvariant()))} (or 0–9)");
    }

    public static string Directory => Environment.GetEnvironmentVariable("GENSHARP_FASHION_MNIST") ?? DebianDirectory;

    /// <summary>The 60 000 training or 10 000 test images.</summary>
    public static ImageDataset Load(bool train, string? directory = null)
    {
        var dir = directory ?? Directory;
        if (!System.IO.Directory.Exists(dir))
            throw new DirectoryNotFoundException($"{dir}: Fashion-MNIST not found; install Debian's dataset-fashion-mnist (./scripts/setup.sh does) or set GENSHARP_FASHION_MNIST");
        string prefix = train ? "train" : "t10k";
        var (ishape, pixels) = IdxFile.Read(Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz"));
        var (lshape, labels) = IdxFile.Read(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz"));
        if (ishape.Length != 3) throw new InvalidDataException($"{prefix}-images-idx3-ubyte.gz: expected 3 dimensions (N, H, W), found {ishape.Length}");
        if (lshape.Length != 1 || lshape[0] != ishape[0])
            throw new InvalidDataException($"{dir}: {ishape[0]} images but {lshape[0]} labels");
        if (labels.Any(l => l >= ClassNames.Count)) throw new InvalidDataException($"{prefix}-labels-idx1-ubyte.gz: a label is outside 0–9");
        using var scope = NewDisposeScope();
        var images = tensor(pixels, ScalarType.Byte).view(ishape[0], 1, ishape[1], ishape[2]);
        return new ImageDataset(images, tensor(labels.Select(l => (long)l).ToArray()), ClassNames);
    }
}
