using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Schedulers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Pipelines;

public sealed class DiffusionPipelineTests : TempDirectoryTest
{
    internal static UNet TinyUNet(int seed = 1)
    {
        manual_seed(seed);
        var m = new UNet(new UNetConfig { BaseChannels = 8, ChannelMults = [1, 2], ImageSize = 8, NumClasses = 3, Groups = 4, Dropout = 0 });
        using var _ = no_grad();
        foreach (var p in m.parameters()) p.add_(randn_like(p) * 0.05);   // conv_out starts at zero: perturb so outputs depend on inputs
        return m;
    }

    [Fact]
    public void GuidanceZeroIsUnconditionalAndOneIsTheConditionalModel()
    {
        using var model = TinyUNet();
        var schedule = new NoiseSchedule("cosine", 50);
        var p = new DiffusionPipeline(model, schedule);
        var s = new DiffusionSampling { Steps = 5, Seed = 3 };
        var a = p.Generate([0, 1], s with { Guidance = 0 });
        var b = p.Generate([2, 2], s with { Guidance = 0 });
        Assert.True(a.allclose(b, atol: 1e-6));                          // labels have no effect

        var guided1 = p.Generate([0, 2], s with { Guidance = 1 });
        // Manual DDIM loop with the plain conditional model.
        var sampler = new DdimScheduler(schedule, 5);
        var gen = new Generator(3);
        var x = randn([2, 1, 8, 8], generator: gen);
        using (no_grad())
            for (int i = 0; i < sampler.Timesteps.Count; i++)
                x = sampler.Step(x, model.forward(x, full(2, sampler.Timesteps[i], int64), tensor(new long[] { 0, 2 })), i, gen);
        Assert.True(guided1.allclose(x, atol: 1e-5));
        Assert.False(guided1.allclose(p.Generate([0, 2], s with { Guidance = 3 }), atol: 1e-4));
    }

    [Fact]
    public void SavedModelGeneratesTheSameImagesAfterLoading()
    {
        using var model = TinyUNet();
        var p = new DiffusionPipeline(model, new NoiseSchedule("linear", 40));
        p.Save(_dir);
        Assert.Equal(ModelKind.Image, AutoPipeline.Kind(_dir));
        var loaded = DiffusionPipeline.Load(_dir);
        Assert.Equal("linear", loaded.Schedule.Kind);
        var s = new DiffusionSampling { Steps = 4, Seed = 1, Guidance = 2 };
        Assert.True(p.Generate([1, 0], s).allclose(loaded.Generate([1, 0], s), atol: 1e-6));
        Assert.Equal(40, loaded.Schedule.Steps);
        var ddpm = loaded.Generate([1], s with { Sampler = "ddpm" });
        Assert.Equal([1L, 1, 8, 8], ddpm.shape);
        Assert.Throws<ArgumentException>(() => loaded.Generate([5], s));
        Assert.Throws<ArgumentException>(() => loaded.Generate([0], s with { Sampler = "euler" }));
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type": "gensharp-unet", "in_channels": 2}""");
        Assert.Contains("in_channels must be 1 or 3", Assert.Throws<ModelLoadException>(() => DiffusionPipeline.Load(_dir)).Message);
    }
}
