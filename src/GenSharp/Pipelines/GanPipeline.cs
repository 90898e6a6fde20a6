using GenSharp.Numerics;
using GenSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Pipelines;

/// <summary>Class labels in, images out (N, C, H, W) in [−1, 1]: one generator pass from z ~ N(0, I). The model directory holds the EMA generator.</summary>
public sealed class GanPipeline(GanGenerator generator) : IImageGenerator
{
    public GanGenerator Model => generator;
    public int NumClasses => generator.Config.NumClasses;
    public int ImageSize => generator.Config.ImageSize;
    public IReadOnlyList<string>? ClassNames => generator.Config.ClassNames;
    public string Description => "GAN generator (EMA weights), one pass";

    public Tensor Generate(IReadOnlyList<int> labels, long seed, CancellationToken cancel = default)
    {
        int k = generator.Config.NumClasses;
        if (k > 0 && labels.Any(l => l < 0 || l >= k)) throw new ArgumentException($"class ids must be in 0…{k - 1}");
        var device = generator.parameters().First().device;
        bool wasTraining = generator.training;
        generator.eval();
        try
        {
            using var _ = no_grad();
            var z = randn([labels.Count, generator.Config.LatentDim], generator: new Generator((ulong)seed, device), device: device);
            var y = tensor(labels.Select(l => (long)(k > 0 ? l : 0)).ToArray(), device: device);
            return FiniteCheck.Images(generator.forward(z, y), "the GAN");
        }
        finally { generator.train(wasTraining); }
    }

    public void Save(string dir, string? modelCard = null) => ModelDirectory.SaveModule(dir, generator, generator.Config.ToJson(), modelCard);

    public static GanPipeline Load(string dir, Device? device = null) => Load(ModelDirectory.ReadConfigFile(dir), device);

    public static GanPipeline Load(ModelConfigFile config, Device? device = null) =>
        new(ModelDirectory.LoadModule<GanConfig, GanGenerator>(config, "GAN", c => c.Validate(), c => new GanGenerator(c), device));
}
