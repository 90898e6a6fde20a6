using GenSharp.Models;
using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Tests.Pipelines;

public sealed class VaeGanPipelineTests : TempDirectoryTest
{
    [Fact]
    public void VaeRoundTripsAndItsOperationsAgree()
    {
        manual_seed(4);
        var vae = new VaePipeline(new Vae(new VaeConfig { Channels = 4, LatentDim = 3, HeldOutClass = "Trouser" }));
        vae.Model.eval();
        vae.Save(_dir);
        var loaded = (VaePipeline)AutoPipeline.OpenImages(_dir);
        Assert.Equal("Trouser", loaded.Model.Config.HeldOutClass);
        Assert.True(vae.Generate(new int[6], seed: 9).equal(loaded.Generate(new int[6], seed: 9)).all().item<bool>());

        var x = rand(2, 1, 28, 28) * 2 - 1;
        var recon = vae.Reconstruct(x);
        var path = vae.Interpolate(x[0], x[1], 5);
        Assert.Equal([5L, 1, 28, 28], path.shape);
        Assert.True(path[0].allclose(recon[0], atol: 1e-5) && path[4].allclose(recon[1], atol: 1e-5));   // the ends are the reconstructions
        Assert.True(recon.min().item<float>() >= -1 && recon.max().item<float>() <= 1);

        // −ELBO with k samples is the mean of k one-sample estimates; the same seed gives the same scores.
        var a = vae.NegativeElbo(x, samples: 4, seed: 1);
        Assert.True(a.equal(vae.NegativeElbo(x, samples: 4, seed: 1)).all().item<bool>());
        Assert.Equal([2L], a.shape);
        Assert.True((a > 0).all().item<bool>());
    }

    [Fact]
    public void GanRoundTripsAndChecksClasses()
    {
        manual_seed(5);
        var gan = new GanPipeline(new GanGenerator(new GanConfig { Channels = 4, LatentDim = 4, NumClasses = 2, ClassNames = ["a", "b"] }));
        gan.Save(_dir);
        var loaded = AutoPipeline.OpenImages(_dir);
        Assert.IsType<GanPipeline>(loaded);
        Assert.Equal(["a", "b"], loaded.ClassNames);
        Assert.True(gan.Generate([0, 1, 1], 3).equal(loaded.Generate([0, 1, 1], 3)).all().item<bool>());
        Assert.Throws<ArgumentException>(() => gan.Generate([2], 0));
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type":"llama"}""");
        Assert.Contains("not an image model", Assert.Throws<ModelLoadException>(() => AutoPipeline.OpenImages(_dir)).Message);
    }
}
