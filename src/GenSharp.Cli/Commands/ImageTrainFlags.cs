using System.CommandLine;
using GenSharp.Data;

namespace GenSharp.Cli.Commands;

/// <summary>The flags image trainers add to <see cref="TrainFlags"/>: data, batch, learning rate, image size and checkpoint interval.</summary>
sealed class ImageTrainFlags(string kind, int steps, int batchSize, double lr, int checkpointInterval)
{
    public readonly TrainFlags Common = new(kind, $"default {steps}");
    public readonly Option<string> Data = Cli.Opt("--data", "fashion-mnist (Debian's dataset-fashion-mnist) or a folder of PNG/JPEG images (subfolders = classes)", ImageData.FashionMnistName);
    public readonly Option<int> BatchSize = Cli.Opt("--batch-size", "Images per step", batchSize);
    public readonly Option<double> Lr = Cli.Opt("--lr", "Peak learning rate", lr);
    public readonly Option<int> ImageSize = Cli.Opt("--image-size", "Image size for folders (Fashion-MNIST is 28)", 28);
    public readonly Option<bool> Rgb = Cli.Opt("--rgb", "Train on colour images (folders only)", false);
    public readonly Option<int> CheckpointInterval = Cli.Opt("--checkpoint-interval", "Steps between checkpoints and sample grids", checkpointInterval);

    public Command Command(string name, string description, params Option[] own) =>
        Common.Command(name, description, [Data, BatchSize, Lr, ImageSize, Rgb, CheckpointInterval, .. own]);

    public int Channels(ParseResult r) => r.GetValue(Rgb) ? 3 : 1;

    // The class count must be known before the model is built: 10 for Fashion-MNIST, else the folder's subfolders.
    public int CountClasses(ParseResult r)
    {
        var spec = r.GetValue(Data)!;
        if (spec.Equals(ImageData.FashionMnistName, StringComparison.OrdinalIgnoreCase)) return FashionMnist.ClassNames.Count;
        if (!Directory.Exists(spec)) throw new UserError($"--data {spec}: not fashion-mnist and not an existing folder");
        int n = Directory.GetDirectories(spec).Length;
        return n > 1 ? n : 0;
    }
}
