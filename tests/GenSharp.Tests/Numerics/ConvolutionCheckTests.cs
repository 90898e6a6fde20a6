using GenSharp.Numerics;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Tests.Numerics;

/// <summary>After the check, fp32 convolutions (the shapes our image models use) agree with fp64 in value and gradient.</summary>
public sealed class ConvolutionCheckTests
{
    [Theory]
    [InlineData(8, 2, 3, 1, 1, false)]    // the probe's own shape
    [InlineData(3, 16, 3, 1, 1, false)]   // UNet conv_in
    [InlineData(16, 16, 3, 2, 1, false)]  // downsampler
    [InlineData(16, 48, 1, 1, 0, false)]  // attention qkv
    [InlineData(1, 8, 4, 2, 1, false)]    // VAE encoder
    [InlineData(16, 8, 4, 2, 1, true)]    // VAE / GAN transposed decoder
    public void ConvolutionsAndTheirGradientsMatchFp64(int cin, int cout, int k, int stride, int pad, bool transposed)
    {
        ConvolutionCheck.EnsureCorrect();
        int threads = get_num_threads();
        try
        {
            foreach (int t in new[] { 1, Math.Max(2, threads) })
            {
                set_num_threads(t);
                for (int seed = 0; seed < 5; seed++)
                {
                    using var scope = NewDisposeScope();
                    manual_seed(seed);
                    var x = randn(8, cin, 16, 16);
                    var w = transposed ? randn(cin, cout, k, k) : randn(cout, cin, k, k);
                    var (x32, w32) = (x.detach().requires_grad_(true), w.detach().requires_grad_(true));
                    var (x64, w64) = (x.to(float64).requires_grad_(true), w.to(float64).requires_grad_(true));
                    Tensor Conv(Tensor a, Tensor b) => transposed
                        ? F.conv_transpose2d(a, b, strides: [stride, stride], padding: [pad, pad])
                        : F.conv2d(a, b, strides: [stride, stride], padding: [pad, pad]);
                    var (y32, y64) = (Conv(x32, w32), Conv(x64, w64));
                    var g = randn_like(y32);
                    y32.backward([g]);
                    y64.backward([g.to(float64)]);
                    double Err(Tensor a, Tensor b) => (a.to(float64) - b).abs().max().item<double>() / (b.abs().max().item<double>() + 1e-12);
                    string where = $"{ConvolutionCheck.Outcome}; {t} thread(s), seed {seed}";
                    Assert.True(Err(y32, y64) < 1e-5, $"output: {Err(y32, y64):g3} ({where})");
                    Assert.True(Err(x32.grad!, x64.grad!) < 1e-5, $"input gradient: {Err(x32.grad!, x64.grad!):g3} ({where})");
                    Assert.True(Err(w32.grad!, w64.grad!) < 1e-5, $"weight gradient: {Err(w32.grad!, w64.grad!):g3} ({where})");
                }
            }
        }
        finally { set_num_threads(threads); }
    }
}
