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

    // q, k, v (or gate, up) in one call: one packed X for products of different widths, fp32 and q8_0 mixed, over two
    // depth blocks and two row blocks, each product's columns split into parts.
    [Fact]
    public void SeveralProductsShareOnePackedInput()
    {
        const int inFeatures = 320, m = 530;
        int[] widths = [70, 33, 33];
        var gen = new Generator(13);
        using var x = randn([m, inFeatures], generator: gen);
        var ws = widths.Select(n => randn([n, inFeatures], generator: gen)).ToArray();
        using var q8 = Q8Matrix.Quantize(ws[1].data<float>().ToArray(), widths[1], inFeatures);
        var dequantized = new float[widths[1] * inFeatures];
        q8.Dequantize(dequantized);
        using var wq = tensor(dequantized, [widths[1], inFeatures]);
        double[][] expected = [Reference(ws[0], x), Reference(wq, x), Reference(ws[2], x)];
        var (w0, w2, xf) = (ws[0].data<float>().ToArray(), ws[2].data<float>().ToArray(), x.data<float>().ToArray());
        var scratch = (float*)NativeMemory.AlignedAlloc((nuint)(Gemm.ScratchFloats * sizeof(float)), 64);
        try
        {
            foreach (var path in SimdPaths.Supported().Where(Gemm.Supports))
            {
                var ys = widths.Select(n => Enumerable.Repeat(float.NaN, m * n).ToArray()).ToArray();
                fixed (float* p0 = w0, p2 = w2, px = xf, y0 = ys[0], y1 = ys[1], y2 = ys[2])
                    for (int part = 0; part < 2; part++)
                    {
                        (int, int) Part(int n) => (n * part / 2, n * (part + 1) / 2);
                        var ((s0, e0), (s1, e1), (s2, e2)) = (Part(widths[0]), Part(widths[1]), Part(widths[2]));
                        Gemm.Multiply([
                            new Gemm.Target(new Gemm.Operand(p0, inFeatures), y0, widths[0], s0, e0),
                            new Gemm.Target(new Gemm.Operand(null, inFeatures, q8: q8), y1, widths[1], s1, e1),
                            new Gemm.Target(new Gemm.Operand(p2, inFeatures), y2, widths[2], s2, e2)], px, inFeatures, inFeatures, m, path, scratch);
                    }
                for (int t = 0; t < 3; t++) AssertClose(expected[t], ys[t], inFeatures, $"{path}, product {t}");
            }
        }
        finally
        {
            NativeMemory.AlignedFree(scratch);
            foreach (var w in ws) w.Dispose();
        }
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
