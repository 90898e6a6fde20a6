using System.Runtime.InteropServices;
using GenSharp.Numerics;
using static TorchSharp.torch;

namespace GenSharp.Tests.Numerics;

/// <summary>
/// The prompt GEMM Y = X·Wᵀ against libtorch's product in fp64: row and column tails of the micro-kernel's tile, depths
/// across several blocks (accumulated), more rows than one packed block, output columns split into parts at
/// any boundary; fp32 weights and q8_0 ones (against their dequantized values); every instruction set with a kernel.
/// </summary>
public sealed unsafe class GemmTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 33, 13)]
    [InlineData(300, 65, 12)]
    [InlineData(257, 100, 25)]
    [InlineData(768, 96, 400)]
    [InlineData(300, 40, 530)]
    [InlineData(1000, 31, 5)]
    public void EqualsLibtorchsProduct(int inFeatures, int outFeatures, int m)
    {
        var gen = new Generator(11);
        using var w = randn([outFeatures, inFeatures], generator: gen);
        using var x = randn([m, inFeatures], generator: gen);
        var expected = Reference(w, x);
        var (wf, xf) = (w.data<float>().ToArray(), x.data<float>().ToArray());
        foreach (var path in SimdPaths.Supported().Where(Gemm.Supports))
        foreach (int parts in new[] { 1, 3 })
        {
            var y = Multiply(wf, null, xf, inFeatures, outFeatures, m, parts, path);
            AssertClose(expected, y, inFeatures, $"{path}, {parts} parts");
        }
    }

    [Theory]
    [InlineData(64, 70, 14)]
    [InlineData(320, 33, 30)]
    public void Q8WeightsAreWidenedWhilePacking(int inFeatures, int outFeatures, int m)
    {
        var gen = new Generator(12);
        using var w = randn([outFeatures, inFeatures], generator: gen);
        using var x = randn([m, inFeatures], generator: gen);
        using var q8 = Q8Matrix.Quantize(w.data<float>().ToArray(), outFeatures, inFeatures);
        var dequantized = new float[outFeatures * inFeatures];
        q8.Dequantize(dequantized);
        using var wq = tensor(dequantized, [outFeatures, inFeatures]);
        var expected = Reference(wq, x);
        foreach (var path in SimdPaths.Supported().Where(Gemm.Supports))
            AssertClose(expected, Multiply(null, q8, x.data<float>().ToArray(), inFeatures, outFeatures, m, 2, path), inFeatures, $"{path}, q8");
    }

    [Fact]
    public void ThePortablePathHasNoKernelAndSaysSo() =>
        Assert.Contains("no GEMM micro-kernel", Assert.Throws<ArgumentException>(() => Gemm.Rows(null, null, null, null, 1, 1, 1, 0, 1, SimdPath.Portable, null)).Message);

    static double[] Reference(Tensor w, Tensor x)
    {
        using var r = x.to(float64).matmul(w.to(float64).t());
        return r.data<double>().ToArray();
    }

    static void AssertClose(double[] expected, float[] y, int inFeatures, string what)
    {
        double tolerance = 1e-5 * Math.Sqrt(inFeatures) * 4;
        for (int i = 0; i < y.Length; i++)
            Assert.True(Math.Abs(y[i] - expected[i]) <= tolerance, $"{what}: y[{i}] = {y[i]}, fp64 {expected[i]}");
    }

    // Parts split the output columns at uneven boundaries, each with its own scratch, as the decoder's threads do.
    static float[] Multiply(float[]? w, Q8Matrix? q8, float[] x, int inFeatures, int outFeatures, int m, int parts, SimdPath path)
    {
        var y = new float[m * outFeatures];
        Array.Fill(y, float.NaN);   // every output must be written
        var scratch = (float*)NativeMemory.AlignedAlloc((nuint)(Gemm.ScratchFloats * sizeof(float)), 64);
        try
        {
            fixed (float* pw = w, px = x, py = y)
                for (int part = 0; part < parts; part++)
                {
                    int start = outFeatures * part / parts, end = outFeatures * (part + 1) / parts;
                    Gemm.Rows(pw, q8, px, py, inFeatures, outFeatures, m, start, end, path, scratch);
                }
        }
        finally { NativeMemory.AlignedFree(scratch); }
        return y;
    }
}
