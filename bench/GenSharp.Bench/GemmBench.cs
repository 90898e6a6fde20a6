using System.Diagnostics;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>Measures fp32 matmul GFLOP/s; the best size is the machine's practical GEMM peak.</summary>
static class GemmBench
{
    static readonly (int M, int K, int N)[] Sizes =
        [(256, 256, 256), (512, 512, 512), (768, 768, 768), (1024, 1024, 1024), (1536, 1536, 1536), (2048, 2048, 2048)];

    public static int Run(string[] args)
    {
        var peak = Measure(print: true);
        Console.WriteLine($"peak {peak:F1} GFLOP/s fp32 ({get_num_threads()} threads)");
        return 0;
    }

    /// <summary>Best GFLOP/s over <see cref="Sizes"/>, each timed for ~0.7 s after a warm-up.</summary>
    public static double Measure(bool print)
    {
        double best = 0;
        foreach (var (m, k, n) in Sizes)
        {
            using var scope = NewDisposeScope();
            var a = randn(m, k);
            var b = randn(k, n);
            var c = empty(m, n);
            for (int i = 0; i < 3; i++) matmul(a, b);
            var sw = Stopwatch.StartNew();
            int iters = 0;
            while (sw.ElapsedMilliseconds < 700) { using (NewDisposeScope()) a.matmul(b); iters++; }
            double gflops = 2.0 * m * k * n * iters / sw.Elapsed.TotalSeconds / 1e9;
            if (print) Console.WriteLine($"{m}×{k}×{n}: {gflops:F1} GFLOP/s");
            best = Math.Max(best, gflops);
        }
        return best;
    }
}
