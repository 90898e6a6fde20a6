using GenSharp.IO;
using GenSharp.Numerics;
using static TorchSharp.torch;

namespace GenSharp.Tests.Numerics;

/// <summary>q8_0 blocks: the quantization error bound, GGML's exact values, and the int8 × fp32 product against libtorch.</summary>
public sealed class Q8MatrixTests
{
    [Fact]
    public void EachWeightIsWithinHalfAStepOfItsBlockAndEqualsGgmlsQ80()
    {
        var gen = new Generator(11);
        using var w = randn([7, 96], generator: gen) * 0.05;
        w[3, 40] = tensor(0f);                                      // a lone zero and an all-zero block below
        w[5].narrow(0, 32, 32).zero_();
        var values = w.data<float>().ToArray();
        using var q = Q8Matrix.Quantize(values, 7, 96);
        var back = new float[values.Length];
        q.Dequantize(back);
        for (int block = 0; block < values.Length / 32; block++)
        {
            var span = values.AsSpan(block * 32, 32);
            float amax = 0;
            foreach (var v in span) amax = MathF.Max(amax, MathF.Abs(v));
            float step = (float)(Half)(amax / 127);                // d, as stored (fp16)
            for (int j = 0; j < 32; j++)
            {
                int i = block * 32 + j;
                Assert.True(Math.Abs(back[i] - values[i]) <= step / 2 + 1e-3f * step + amax * 1e-3f, $"weight {i}: {values[i]} → {back[i]} (step {step})");
            }
        }
        Assert.All(back.AsSpan(5 * 96 + 32, 32).ToArray(), v => Assert.Equal(0f, v));
        // The same numbers llama.cpp reads from a q8_0 GGUF tensor.
        Assert.Equal(GgmlQuant.Decode(GgmlQuant.Encode(values, GgmlType.Q8_0), GgmlType.Q8_0, values.Length), back);
        // Quantizing the dequantized weights again changes nothing (a quantized model re-opened is the same model).
        using var again = Q8Matrix.Quantize(back, 7, 96);
        var twice = new float[values.Length];
        again.Dequantize(twice);
        Assert.Equal(back, twice);
    }

    [Theory]
    [InlineData(32, 1, 1)]
    [InlineData(64, 37, 1)]
    [InlineData(96, 129, 3)]
    [InlineData(512, 300, 16)]
    public void ProductEqualsLibtorchsOnTheDequantizedWeightsOnEveryPath(int inFeatures, int outFeatures, int m)
    {
        var gen = new Generator(5);
        using var w = randn([outFeatures, inFeatures], generator: gen);
        using var x = randn([m, inFeatures], generator: gen);
        using var q = Q8Matrix.Quantize(w.data<float>().ToArray(), outFeatures, inFeatures);
        var deq = new float[outFeatures * inFeatures];
        q.Dequantize(deq);
        var expected = x.to(float64).matmul(tensor(deq, [outFeatures, inFeatures]).to(float64).t()).data<double>().ToArray();
        var xs = x.data<float>().ToArray();
        foreach (var path in SimdPaths.Supported())
        {
            var y = new float[m * outFeatures];
            unsafe
            {
                fixed (float* px = xs, py = y)
                {
                    q.RowsProduct(px, py, m, 0, outFeatures / 2, path);                // two parts, as two threads split them
                    q.RowsProduct(px, py, m, outFeatures / 2, outFeatures, path);
                }
            }
            double tolerance = 1e-5 * Math.Sqrt(inFeatures) * 8;
            for (int i = 0; i < y.Length; i++)
                Assert.True(Math.Abs(y[i] - expected[i]) <= tolerance, $"{path}: y[{i}] = {y[i]}, fp64 {expected[i]}");
        }
    }

    [Fact]
    public void RowsThatAreNotWholeBlocksAreRefusedByName() =>
        Assert.Contains("multiple of 32 (got 40)", Assert.Throws<ArgumentException>(() => Q8Matrix.Quantize(new float[80], 2, 40)).Message);
}

/// <summary>
/// The int8 × int16 product of one-row decoding, on every kernel this CPU runs (AVX-512BW, AVX2): activations rounded
/// within half a step, products exact on them; a CPU with neither has no such kernel and is refused.
/// </summary>
public sealed class Q8Int16Tests
{
    [Fact]
    public void ActivationsAreWithinHalfAStepAndTheProductIsExactOnThem()
    {
        foreach (var path in SimdPaths.Supported().Where(Q8Matrix.Int16Supports)) Check(path);   // none: a pre-AVX2 CPU, served by fp32 inputs
    }

    static unsafe void Check(SimdPath path)
    {
        var gen = new Generator(9);
        const int inFeatures = 160, outFeatures = 45, m = 2;
        using var w = randn([outFeatures, inFeatures], generator: gen);
        using var x = randn([m, inFeatures], generator: gen) * 3;
        using var q = Q8Matrix.Quantize(w.data<float>().ToArray(), outFeatures, inFeatures);
        var deq = new float[outFeatures * inFeatures];
        q.Dequantize(deq);
        var xs = x.data<float>().ToArray();
        var x16 = new short[xs.Length];
        var scales = new float[m];
        var y = new float[m * outFeatures];
        fixed (float* px = xs, ps = scales, py = y)
        fixed (short* p16 = x16)
        {
            for (int i = 0; i < m; i++) scales[i] = Q8Matrix.QuantizeActivations(px + i * inFeatures, p16 + i * inFeatures, inFeatures);
            q.RowsProductInt16(p16, ps, py, m, 0, 20, path);
            q.RowsProductInt16(p16, ps, py, m, 20, outFeatures, path);
        }
        for (int i = 0; i < m; i++)
        {
            float amax = xs.Skip(i * inFeatures).Take(inFeatures).Max(MathF.Abs);
            Assert.Equal(amax / 32767, scales[i], 6);
            for (int k = 0; k < inFeatures; k++)
                Assert.True(Math.Abs(x16[i * inFeatures + k] * scales[i] - xs[i * inFeatures + k]) <= scales[i] / 2 * 1.001, $"x[{i}, {k}]");
        }
        // Exact on the rounded inputs (up to fp32 summation), and within the rounding's own bound of the fp32 product.
        var rounded = x16.Select((v, k) => v * (double)scales[k / inFeatures]).ToArray();
        for (int i = 0; i < m; i++)
            for (int o = 0; o < outFeatures; o++)
            {
                double onRounded = 0, onExact = 0, bound = 0;
                for (int k = 0; k < inFeatures; k++)
                {
                    onRounded += deq[o * inFeatures + k] * rounded[i * inFeatures + k];
                    onExact += deq[o * inFeatures + k] * (double)xs[i * inFeatures + k];
                    bound += Math.Abs(deq[o * inFeatures + k]) * scales[i] / 2;
                }
                Assert.True(Math.Abs(y[i * outFeatures + o] - onRounded) <= 1e-4 * Math.Sqrt(inFeatures), $"y[{i}, {o}] = {y[i * outFeatures + o]}, on the rounded x {onRounded}");
                Assert.True(Math.Abs(y[i * outFeatures + o] - onExact) <= bound + 1e-3, $"y[{i}, {o}] vs fp32 x: {Math.Abs(y[i * outFeatures + o] - onExact)} > {bound}");
            }
    }

    [Fact]
    public void APathWithoutTheKernelIsRefusedByName()
    {
        using var q = Q8Matrix.Quantize(new float[64], 2, 32);
        Assert.Contains("no int8 × int16 kernel", Assert.Throws<ArgumentException>(() => Portable(q)).Message);

        static unsafe void Portable(Q8Matrix q)
        {
            float y = 0;
            q.RowsProductInt16(null, null, &y, 1, 0, 1, SimdPath.Portable);
        }
    }
}
