using System.Diagnostics;
using GenSharp.Models;
using GenSharp.Numerics;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// The decode products alone (docs/benchmarks.md, "Inference speed"): y = W·x for the weight shapes of a decode step, one
/// and four input rows, libtorch's path today (<c>Inference.Linear</c>) against <see cref="MatVec"/>, 2 threads; time per
/// product (median of 200, each on another copy of W so the weights come from memory as in decoding) and the weight
/// bytes streamed per second.
/// </summary>
static class MatVecBench
{
    public static int Run(string[] args)
    {
        if (args.Contains("--probe")) return Probe();
        if (args.Contains("--streams")) { MemoryProbe.Read(print: true); return 0; }
        Console.WriteLine($"threads: libtorch {get_num_threads()}, MatVec 2");
        Console.WriteLine("| W (out × in) | rows | libtorch µs | MatVec µs | q8 µs | libtorch GB/s | MatVec GB/s | q8 GB/s | MatVec speed-up | q8 speed-up |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        // Decode streams every weight from memory once per token: cycle through copies of W totalling ≥ 256 MiB, so each
        // product reads W from DRAM as a decode step does, not from a cache that 200 repeats would warm.
        MatVec.Multiply(new float[1 << 22], new float[1024], new float[4096], 1024, 2);   // the thread pool's threads up
        foreach (var (outF, inF) in new[] { (512, 512), (2048, 512), (512, 2048), (768, 768), (3072, 768), (768, 3072), (65, 768) })
            foreach (int m in new[] { 1, 4 })
            {
                int copies = Math.Max(2, (int)((256L << 20) / (4L * outF * inF)));
                var ws = Enumerable.Range(0, copies).Select(_ => randn(outF, inF)).ToArray();
                var wfs = ws.Select(w => w.data<float>().ToArray()).ToArray();
                using var x = randn(m, inF);
                var (xf, y) = (x.data<float>().ToArray(), new float[m * outF]);
                int next = 0;
                double torchUs = Median(() => { using var _ = no_grad(); using var r = Inference.Linear(x, ws[next++ % copies]); r.data<float>()[0].ToString(); });
                if (args.Contains("--compare-streams"))
                {
                    var (on, off) = (new List<double>(), new List<double>());
                    for (int r = 0; r < 6; r++)
                    {
                        MatVec.Streams = r % 2 == 0;
                        (r % 2 == 0 ? on : off).Add(Median(() => MatVec.Multiply(wfs[next++ % copies], xf, y, inF, 2)));
                    }
                    Console.WriteLine($"  {outF} × {inF}, {m} rows: four streams {4.0 * outF * inF / on.Min() / 1e3:F1} GB/s, in order {4.0 * outF * inF / off.Min() / 1e3:F1} GB/s (best of 3 medians each, alternating)");
                    MatVec.Streams = true;
                }
                double oursUs = Median(() => MatVec.Multiply(wfs[next++ % copies], xf, y, inF, 2));
                var q8s = wfs.Select(w => Q8Matrix.Quantize(w, outF, inF)).ToArray();
                foreach (var w in ws) w.Dispose();
                wfs = null;
                if (args.Contains("--prefetch"))
                {
                    var saved = Q8Matrix.PrefetchBytes;
                    foreach (int ahead in new[] { 0, 512, 1024, 2048, 4096 })
                    {
                        Q8Matrix.PrefetchBytes = ahead;
                        double us = Median(() => Q8(q8s[next++ % q8s.Length], xf, y, m, 2));
                        Console.WriteLine($"  {outF} × {inF}, {m} rows: q8 prefetch {ahead,4} B: {us:F1} µs ({q8s[0].Bytes / us / 1e3:F1} GB/s)");
                    }
                    Q8Matrix.PrefetchBytes = saved;
                }
                double q8Us = Median(() => Q8(q8s[next++ % q8s.Length], xf, y, m, 2));
                foreach (var q in q8s) q.Dispose();
                double bytes = 4.0 * outF * inF, q8Bytes = q8s[0].Bytes;
                Console.WriteLine($"| {outF} × {inF} | {m} | {torchUs:F1} | {oursUs:F1} | {q8Us:F1} | {bytes / torchUs / 1e3:F1} | {bytes / oursUs / 1e3:F1} | {q8Bytes / q8Us / 1e3:F1} | {torchUs / oursUs:F2}× | {torchUs / q8Us:F2}× |");
            }
        return 0;
    }

    // One thread, weights resident in L2: the kernels' arithmetic speed, without memory in the way.
    static unsafe int Probe()
    {
        const int rows = 256, cols = 768, repeats = 4000;
        foreach (var t in new[] { typeof(System.Runtime.Intrinsics.X86.AvxVnni), typeof(System.Runtime.Intrinsics.X86.Avx10v1) })
            foreach (var n in t.GetNestedTypes().Prepend(t))
                Console.WriteLine($"{n.FullName}: IsSupported {n.GetProperty("IsSupported")?.GetValue(null)}; {string.Join(", ", n.GetMethods().Select(m => m.Name).Distinct().Where(m => m.Contains("Widening")))}");
        var w = randn(rows, cols).data<float>().ToArray();
        var x = randn(cols).data<float>().ToArray();
        var y = new float[rows];
        using var q = Q8Matrix.Quantize(w, rows, cols);
        foreach (var path in SimdPaths.Supported())
        {
            double fp32 = Time(() => { fixed (float* pw = w, px = x, py = y) MatVec.Rows(pw, px, py, cols, rows, 1, 0, rows, path); });
            double q8 = Time(() => { fixed (float* px = x, py = y) q.RowsProduct(px, py, 1, 0, rows, path); });
            Console.WriteLine($"{path}: fp32 {fp32 * 1e9 / (rows * cols / 32.0):F2} ns per 32 weights ({4.0 * rows * cols / fp32 / 1e9:F1} GB/s), " +
                              $"q8 {q8 * 1e9 / (rows * cols / 32.0):F2} ns per block ({q.Bytes / q8 / 1e9:F1} GB/s)");
        }
        return 0;

        static double Time(Action run)
        {
            for (int i = 0; i < 200; i++) run();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < repeats; i++) run();
            return sw.Elapsed.TotalSeconds / repeats;
        }
    }

    static unsafe void Q8(Q8Matrix q, float[] x, float[] y, int m, int threads) =>
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            fixed (float* px = x, py = y) q.RowsProduct(px, py, m, q.Rows * t / threads, q.Rows * (t + 1) / threads, SimdPaths.Detect());
        });

    static double Median(Action run)
    {
        for (int i = 0; i < 20; i++) run();
        var times = new double[200];
        for (int i = 0; i < times.Length; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            times[i] = sw.Elapsed.TotalMicroseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }
}
