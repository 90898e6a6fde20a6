using GenSharp.Pipelines;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Training;
using static TorchSharp.torch;

namespace GenSharp.Tests.Models;

public sealed class VaeTests
{
    [Fact]
    public void KlTermMatchesTheClosedFormAndAMonteCarloEstimate()
    {
        var mu = tensor(new[] { 1.0, 0.0 }, float64).unsqueeze(0);
        var logVar = tensor(new[] { 0.0, Math.Log(4) }, float64).unsqueeze(0);
        // ½[(1 + 1 − 0 − 1) + (0 + 4 − ln 4 − 1)]
        Assert.Equal(0.5 * (1 + 3 - Math.Log(4)), VaeLoss.Kl(mu, logVar).item<double>(), 12);

        // E_q[log q(z) − log p(z)] with 400k samples.
        var z = mu + (0.5 * logVar).exp() * randn(400_000, 2, float64, generator: new Generator(3));
        var logQ = (-0.5 * ((z - mu).pow(2) / logVar.exp() + logVar + Math.Log(2 * Math.PI))).sum(1);
        var logP = (-0.5 * (z.pow(2) + Math.Log(2 * Math.PI))).sum(1);
        Assert.Equal(VaeLoss.Kl(mu, logVar).item<double>(), (logQ - logP).mean().item<double>(), 0.01);
    }

    [Fact]
    public void ShapesAndAFewStepsLowerTheNegativeElbo()
    {
        manual_seed(1);
        using var vae = new Vae(new VaeConfig { Channels = 8, LatentDim = 4 });
        using var data = FashionMnist.Load(false).Take(256);
        var (x, _) = data.Batch([.. Enumerable.Range(0, 256).Select(i => (long)i)], CPU);
        var (mu, logVar) = vae.forward(x);
        Assert.Equal([256L, 4], mu.shape);
        Assert.Equal([256L, 1, 28, 28], vae.Decode(mu).shape);
        var opt = optim.Adam(vae.parameters(), 3e-3);
        double first = 0, last = 0;
        for (int i = 0; i < 40; i++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = VaeLoss.Terms(vae, x, new Generator((ulong)i)).NegativeElbo().mean();
            loss.backward();
            opt.step();
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < 0.8 * first, $"−ELBO {first:F1} → {last:F1}");
    }
}
