using System.Diagnostics;
using System.Runtime.InteropServices;
using GenSharp.Numerics;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// The products of prompt processing alone (docs/benchmarks.md, "Inference speed"): Y = X·Wᵀ for the weight shapes of
/// the 33.6 M and 113 M models and 64…512 prompt rows — libtorch's linear, the decode kernel's 4 × 4 tiles
/// (<see cref="MatVec.Rows"/>) and the packed GEMM (<see cref="Gemm.Rows"/>), fp32 and q8_0 weights, both on a two-thread
/// team splitting the output columns; medians of alternating rounds, GFLOP/s.
/// </summary>
static unsafe class PrefillGemmBench
{
    public static int Run(string[] args)
    {
        bool cold = args.Contains("--cold");
        int threads = args.Contains("--threads") ? int.Parse(args[Array.IndexOf(args, "--threads") + 1]) : 2;
        var path = SimdPaths.Detect();
        Console.WriteLine($"path {SimdPaths.Describe(path)}, threads: libtorch {get_num_threads()}, kernels {threads}");
        Console.WriteLine("| X rows | W (out × in) | libtorch GFLOP/s | tiles GFLOP/s | GEMM GFLOP/s | GEMM without prefetch | GEMM q8 GFLOP/s | GEMM ÷ libtorch |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        using var team = new ThreadTeam(threads);
        var scratch = Enumerable.Range(0, threads).Select(_ => (IntPtr)NativeMemory.AlignedAlloc((nuint)(Gemm.ScratchFloats * 4), 64)).ToArray();
        var shapes = new[] { (1536, 512), (512, 512), (4096, 512), (512, 2048), (2304, 768), (768, 768), (6144, 768), (768, 3072) };
        foreach (int m in cold ? new[] { 512 } : new[] { 64, 128, 512 })
            foreach (var (outF, inF) in shapes)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var w = randn(outF, inF);
                var x = randn(m, inF);
                var wf = w.data<float>().ToArray();
                var xf = x.data<float>().ToArray();
                var y = new float[m * outF];
                using var q8 = Q8Matrix.Quantize(wf, outF, inF);
                double flops = 2.0 * m * inF * outF;
                var torchT = new List<double>(); var tileT = new List<double>(); var gemmT = new List<double>(); var noPrefetchT = new List<double>(); var q8T = new List<double>();
                var handle = GCHandle.Alloc(wf, GCHandleType.Pinned);
                var hx = GCHandle.Alloc(xf, GCHandleType.Pinned);
                var hy = GCHandle.Alloc(y, GCHandleType.Pinned);
                float* pw = (float*)handle.AddrOfPinnedObject(), px = (float*)hx.AddrOfPinnedObject(), py = (float*)hy.AddrOfPinnedObject();
                void Split(Action<int, int, int> run) => team.Run(part =>
                {
                    int a = (int)((long)outF * part / threads) & ~31, b = part == threads - 1 ? outF : (int)((long)outF * (part + 1) / threads) & ~31;
                    run(part, a, b);
                });
                // --cold: the GEMM columns read W from one of many copies in turn (256 MiB in all), as a prefill reads each
                // layer's weights from DRAM; otherwise W stays in the caches between calls.
                int copies = cold ? Math.Max(2, (int)((256L << 20) / (4L * outF * inF))) : 1, next = 0;
                var wCopies = Enumerable.Range(0, copies).Select(_ =>
                {
                    var c = (float*)NativeMemory.AlignedAlloc((nuint)(4L * outF * inF), 64);
                    wf.AsSpan().CopyTo(new Span<float>(c, wf.Length));
                    return (IntPtr)c;
                }).ToArray();
                float* W() => (float*)wCopies[next++ % copies];
                for (int round = 0; round < 9; round++)
                {
                    torchT.Add(Time(() => { using var r = nn.functional.linear(x, w); }));
                    tileT.Add(Time(() => Split((part, a, b) => MatVec.Rows(pw, px, py, inF, outF, m, a, b, path))));
                    gemmT.Add(Time(() => { float* wc = W(); Split((part, a, b) => Gemm.Rows(wc, null, px, py, inF, outF, m, a, b, path, (float*)scratch[part])); }));
                    Gemm.PrefetchPanels = false;
                    noPrefetchT.Add(Time(() => { float* wc = W(); Split((part, a, b) => Gemm.Rows(wc, null, px, py, inF, outF, m, a, b, path, (float*)scratch[part])); }));
                    Gemm.PrefetchPanels = true;
                    q8T.Add(Time(() => Split((part, a, b) => Gemm.Rows(null, q8, px, py, inF, outF, m, a, b, path, (float*)scratch[part]))));
                }
                handle.Free(); hx.Free(); hy.Free();
                foreach (var c in wCopies) NativeMemory.AlignedFree((void*)c);
                double G(List<double> t) => flops / Median(t) / 1e9;
                Console.WriteLine($"| {m} | {outF} × {inF} | {G(torchT):F1} | {G(tileT):F1} | {G(gemmT):F1} | {G(noPrefetchT):F1} | {G(q8T):F1} | {Median(torchT) / Median(gemmT):F2}× |");
            }
        foreach (var s in scratch) NativeMemory.AlignedFree((void*)s);
        return 0;
    }

    static double Time(Action run)
    {
        run();
        var sw = Stopwatch.StartNew();
        int n = 0;
        while (sw.ElapsedMilliseconds < 60 || n < 2) { run(); n++; }
        return sw.Elapsed.TotalSeconds / n;
    }

    static double Median(List<double> v) { var s = v.Order().ToList(); return s[s.Count / 2]; }
}
