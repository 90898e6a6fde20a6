using GenSharp.Numerics;
using static TorchSharp.torch;

namespace GenSharp.Tests.Numerics;

/// <summary>The decode kernel y = W·x against libtorch's product in fp64, on odd shapes and tails, on every instruction set this CPU has (the portable one forced), with 1 and 2 threads.</summary>
public sealed class MatVecTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 1)]
    [InlineData(17, 64, 2)]
    [InlineData(333, 1001, 1)]
    [InlineData(333, 36, 3)]
    [InlineData(512, 2048, 1)]
    [InlineData(1000, 257, 5)]
    [InlineData(2048, 512, 4)]
    public void EqualsLibtorchsProductOnEveryShapeAndThreadCount(int inFeatures, int outFeatures, int m)
    {
        var gen = new Generator(7);
        using var w = randn([outFeatures, inFeatures], generator: gen);
        using var x = randn([m, inFeatures], generator: gen);
        using var reference = x.to(float64).matmul(w.to(float64).t());                // (m, out) in fp64
        var expected = reference.data<double>().ToArray();
        var (wf, xf) = (w.data<float>().ToArray(), x.data<float>().ToArray());
        foreach (var path in SimdPaths.Supported())
        foreach (int threads in new[] { 1, 2 })
        {
            var y = new float[m * outFeatures];
            MatVec.Multiply(wf, xf, y, inFeatures, threads, path);
            double tolerance = 1e-5 * Math.Sqrt(inFeatures) * 4;                           // fp32 sums of in_features products of N(0,1)²
            for (int i = 0; i < y.Length; i++)
                Assert.True(Math.Abs(y[i] - expected[i]) <= tolerance, $"{path}, threads {threads}: y[{i}] = {y[i]}, fp64 {expected[i]}");
        }
    }

    [Fact]
    public void MismatchedShapesAreRefusedByName()
    {
        Assert.Contains("not a multiple of in_features 4", Assert.Throws<ArgumentException>(() => MatVec.Multiply(new float[10], new float[4], new float[2], 4, 1)).Message);
        Assert.Contains("x has 5 values", Assert.Throws<ArgumentException>(() => MatVec.Multiply(new float[8], new float[5], new float[2], 4, 1)).Message);
        Assert.Contains("y has 3 values; 1 × 2 expected", Assert.Throws<ArgumentException>(() => MatVec.Multiply(new float[8], new float[4], new float[3], 4, 1)).Message);
    }

    [Fact]
    public unsafe void WeightedSumOfRowsEqualsFp64OnEveryWidthAndPath()
    {
        var gen = new Generator(11);
        foreach (int width in new[] { 1, 5, 8, 20, 32, 40, 64, 72, 100, 136 })
            foreach (int rows in new[] { 1, 3, 17 })
            {
                var v = randn([rows, width], generator: gen).data<float>().ToArray();
                var p = rand([rows], generator: gen).data<float>().ToArray();
                foreach (var path in SimdPaths.Supported())
                {
                    var y = Enumerable.Repeat(float.NaN, width).ToArray();   // overwritten, not accumulated into
                    fixed (float* pp = p, pv = v, py = y) MatVec.WeightedSum(pp, pv, rows, width, py, path);
                    for (int c = 0; c < width; c++)
                    {
                        double expected = 0;
                        for (int j = 0; j < rows; j++) expected += (double)p[j] * v[j * width + c];
                        Assert.True(Math.Abs(y[c] - expected) <= 1e-5 * rows, $"{path}, {rows} × {width}: y[{c}] = {y[c]}, fp64 {expected}");
                    }
                }
            }
    }
}
