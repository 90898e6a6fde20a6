using System.Diagnostics;
using GenSharp.Training;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// Times the exact GEMMs of one training step of a preset (forward x·Wᵀ and both backward products, per
/// linear layer) in isolation. Their sum is a floor on the step time with libtorch's GEMM, so
/// 6·N·tokens ÷ (that floor × peak) is the best MFU any schedule of these kernels could reach.
/// </summary>
static class GemmShapesBench
{
    public static int Run(string[] args)
    {
        var p = Preset.Get(args.Length > 0 ? args[0] : "nano-cpu");
        var c = p.Model with { VocabSize = 65 };
        long m = (long)p.Train.BatchSize * c.MaxPositions;
        var linears = new (string Name, int In, int Out, int PerStep)[]
        {
            ("qkv", c.HiddenSize, (c.NumHeads + 2 * c.NumKvHeads) * c.HeadDim, c.NumLayers),
            ("o_proj", c.NumHeads * c.HeadDim, c.HiddenSize, c.NumLayers),
            ("gate+up", c.HiddenSize, 2 * c.IntermediateSize, c.NumLayers),
            ("down_proj", c.IntermediateSize, c.HiddenSize, c.NumLayers),
            ("lm_head", c.HiddenSize, c.VocabSize, 1),
        };
        double totalMs = 0, totalFlops = 0;
        Console.WriteLine($"preset {p.Name}: M = {m} tokens/step, threads {get_num_threads()}");
        foreach (var (name, k, n, per) in linears)
        {
            using var scope = NewDisposeScope();
            var x = randn(m, k);
            var w = randn(n, k);
            var dy = randn(m, n);
            double fwd = Time(() => nn.functional.linear(x, w));
            double dx = Time(() => dy.matmul(w));
            double dw = Time(() => dy.t().matmul(x));
            double ms = (fwd + dx + dw) * per, flops = 6.0 * m * k * n * per;
            totalMs += ms; totalFlops += flops;
            Console.WriteLine($"{name,-10} {m}×{k}→{n}: fwd {fwd * 1000:F0} µs, dX {dx * 1000:F0} µs, dW {dw * 1000:F0} µs; ×{per} = {ms:F2} ms, {flops / (ms / 1000) / 1e9:F1} GFLOP/s");
        }
        double peak = GemmBench.Measure(print: false);
        double achieved = totalFlops / (totalMs / 1000) / 1e9;
        Console.WriteLine($"all GEMMs of one step: {totalMs:F2} ms, {achieved:F1} GFLOP/s; peak {peak:F1} GFLOP/s → GEMM-only MFU ceiling {achieved / peak:P1}");
        return 0;
    }

    /// <summary>Median milliseconds of <paramref name="op"/> over ~0.4 s after warm-up.</summary>
    static double Time(Func<Tensor> op)
    {
        for (int i = 0; i < 10; i++) using (NewDisposeScope()) op();
        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.ElapsedMilliseconds < 400)
        {
            using var s = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            op();
            samples.Add(sw.Elapsed.TotalMilliseconds);
        }
        samples.Sort();
        return samples[samples.Count / 2];
    }
}
