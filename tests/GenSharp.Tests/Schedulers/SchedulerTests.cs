using GenSharp.Schedulers;
using static TorchSharp.torch;

namespace GenSharp.Tests.Schedulers;

public sealed class SchedulerTests
{
    [Fact]
    public void SchedulesFollowTheirDefinitions()
    {
        var linear = new NoiseSchedule("linear", 1000);
        Assert.Equal(1e-4, linear.Betas[0], 12);
        Assert.Equal(0.02, linear.Betas[^1], 12);
        Assert.Equal((1 - 1e-4) * (1 - linear.Betas[1]), linear.AlphasCumprod[1], 12);
        var cosine = new NoiseSchedule("cosine", 1000);
        // ᾱ_t = f(t+1)/f(0) with f(t) = cos²((t/T + s)/(1+s)·π/2) while no β is clipped.
        double F(double t) => Math.Pow(Math.Cos((t / 1000 + 0.008) / 1.008 * Math.PI / 2), 2);
        Assert.Equal(F(500) / F(0), cosine.AlphasCumprod[499], 9);
        Assert.Throws<ArgumentException>(() => new NoiseSchedule("quadratic"));
    }

    [Fact]
    public void ForwardNoisingMatchesTheClosedForm()
    {
        var s = new NoiseSchedule("linear", 1000);
        var x0 = tensor(new float[] { 0.5f, -0.25f }).view(2, 1);
        var eps = tensor(new float[] { 1f, 2f }).view(2, 1);
        var xt = s.AddNoise(x0, eps, tensor(new long[] { 0, 700 })).data<float>().ToArray();
        double a0 = s.AlphasCumprod[0], a7 = s.AlphasCumprod[700];
        Assert.Equal(Math.Sqrt(a0) * 0.5 + Math.Sqrt(1 - a0) * 1, xt[0], 1e-6);
        Assert.Equal(Math.Sqrt(a7) * -0.25 + Math.Sqrt(1 - a7) * 2, xt[1], 1e-6);
    }

    [Fact]
    public void DdimWithEtaZeroIsDeterministicAndEtaOneHasDdpmVariance()
    {
        var s = new NoiseSchedule("cosine", 100);
        var ddim0 = new DdimScheduler(s, 10, eta: 0);
        var x = randn(3, 1, 4, 4, generator: new Generator(1));
        var e = randn(3, 1, 4, 4, generator: new Generator(2));
        Assert.True(ddim0.Step(x, e, 3, new Generator(5)).equal(ddim0.Step(x, e, 3, new Generator(6))).all().item<bool>());
        var ddim1 = new DdimScheduler(s, 100, eta: 1);
        var ddpm = new DdpmScheduler(s);
        Assert.Equal(ddim1.Timesteps, ddpm.Timesteps);
        for (int i = 0; i < 99; i++)
            Assert.Equal(ddpm.Variance(ddpm.Timesteps[i]), ddim1.Variance(i), 12);
        Assert.Equal(0, ddim0.Variance(4));
        Assert.Equal([99, 88, 77, 66, 55, 44, 33, 22, 11, 0], ddim0.Timesteps);
    }

    [Fact]
    public void DdpmStepEqualsAlgorithmTwoWhenNothingIsClipped()
    {
        var s = new NoiseSchedule("linear", 1000);
        var ddpm = new DdpmScheduler(s, clipSample: false);
        var x = tensor(new float[] { 0.3f, -0.2f });
        var eps = tensor(new float[] { 0.1f, 0.4f });
        int index = 500, t = ddpm.Timesteps[index];
        var z = randn(2, generator: new Generator(9));
        var got = ddpm.Step(x, eps, index, new Generator(9)).data<float>().ToArray();
        double beta = s.Betas[t], abar = s.AlphasCumprod[t], sigma = Math.Sqrt(ddpm.Variance(t));
        for (int k = 0; k < 2; k++)
        {
            double xk = x[k].item<float>(), ek = eps[k].item<float>();
            double expected = (xk - beta / Math.Sqrt(1 - abar) * ek) / Math.Sqrt(1 - beta) + sigma * z[k].item<float>();   // Algorithm 2, line 4
            Assert.Equal(expected, got[k], 5);
        }
    }

    [Fact]
    public void FullDdimLoopWithAFixedModelGivesTheHandComputedValue()
    {
        // Dummy model ε(x, t) = 0.1·x. Reference: eq. 12 with η = 0 evaluated in double precision on a scalar.
        var s = new NoiseSchedule("cosine", 50);
        var sampler = new DdimScheduler(s, 5, eta: 0, clipSample: false);
        var x = tensor(new float[] { 0.8f });
        double reference = 0.8;
        for (int i = 0; i < sampler.Timesteps.Count; i++)
        {
            x = sampler.Step(x, 0.1f * x, i, null);
            double abar = s.AlphasCumprod[sampler.Timesteps[i]];
            double prev = i + 1 < sampler.Timesteps.Count ? s.AlphasCumprod[sampler.Timesteps[i + 1]] : 1.0;
            double e = 0.1 * reference, x0 = (reference - Math.Sqrt(1 - abar) * e) / Math.Sqrt(abar);
            reference = Math.Sqrt(prev) * x0 + Math.Sqrt(1 - prev) * e;
        }
        Assert.Equal(reference, x.item<float>(), Math.Abs(reference) * 1e-5);   // float32 vs double
        Assert.Equal([49, 37, 24, 12, 0], sampler.Timesteps);
        Assert.Throws<ArgumentException>(() => new DdimScheduler(s, 0));
        Assert.Throws<ArgumentException>(() => new DdimScheduler(s, 10, eta: double.NaN));
    }
}
