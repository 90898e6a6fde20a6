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
        if (args.Contains("--shared")) return Shared(args);
        bool cold = args.Contains("--cold");
        int threads = Threads(args);
        var path = SimdPaths.Detect();
        Console.WriteLine($"path {SimdPaths.Describe(path)}, threads: libtorch {get_num_threads()}, kernels {threads}");
        Console.WriteLine("| X rows | W (out × in) | libtorch GFLOP/s | tiles GFLOP/s | GEMM GFLOP/s | GEMM without prefetch | GEMM, scalar packing | GEMM q8 GFLOP/s | GEMM ÷ libtorch |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        using var team = new ThreadTeam(threads);
        var scratch = Scratch(threads);
        var shapes = new[] { (1536, 512), (512, 512), (4096, 512), (512, 2048), (2304, 768), (768, 768), (6144, 768), (768, 3072) };
        foreach (int m in cold ? new[] { 512 } : new[] { 32, 64, 128, 512 })
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
                var torchT = new List<double>(); var tileT = new List<double>(); var gemmT = new List<double>(); var noPrefetchT = new List<double>(); var scalarT = new List<double>(); var q8T = new List<double>();
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
                    Gemm.VectorTranspose = false;
                    scalarT.Add(Time(() => { float* wc = W(); Split((part, a, b) => Gemm.Rows(wc, null, px, py, inF, outF, m, a, b, path, (float*)scratch[part])); }));
                    Gemm.VectorTranspose = true;
                    q8T.Add(Time(() => Split((part, a, b) => Gemm.Rows(null, q8, px, py, inF, outF, m, a, b, path, (float*)scratch[part]))));
                }
                handle.Free(); hx.Free(); hy.Free();
                foreach (var c in wCopies) NativeMemory.AlignedFree((void*)c);
                double G(List<double> t) => flops / Median(t) / 1e9;
                Console.WriteLine($"| {m} | {outF} × {inF} | {G(torchT):F1} | {G(tileT):F1} | {G(gemmT):F1} | {G(noPrefetchT):F1} | {G(scalarT):F1} | {G(q8T):F1} | {Median(torchT) / Median(gemmT):F2}× |");
            }
        foreach (var s in scratch) NativeMemory.AlignedFree((void*)s);
        return 0;
    }

    /// <summary>
    /// --shared: q, k, v (and gate, up) of one input as separate GEMM calls (each packs X again) and as one call over
    /// several products (X packed once), alternating, W in the caches; the two models' shapes, 128 and 512 rows.
    /// </summary>
    static int Shared(string[] args)
    {
        int threads = Threads(args);
        var path = SimdPaths.Detect();
        Console.WriteLine($"path {SimdPaths.Describe(path)}, kernels {threads} threads; separate calls vs one call over the products (X packed once)");
        Console.WriteLine("| X rows | products (out × in) | separate ms | one call ms | separate ÷ one call |");
        Console.WriteLine("|---|---|---|---|---|");
        using var team = new ThreadTeam(threads);
        var scratch = Scratch(threads);
        foreach (int m in new[] { 128, 512 })
            foreach (var (inF, outs) in new[] { (512, new[] { 512, 512, 512 }), (512, new[] { 2048, 2048 }), (768, new[] { 768, 768, 768 }), (768, new[] { 3072, 3072 }) })
            {
                var ws = outs.Select(o => (IntPtr)NativeMemory.AlignedAlloc((nuint)(4L * o * inF), 64)).ToArray();
                var ys = outs.Select(o => (IntPtr)NativeMemory.AlignedAlloc((nuint)(4L * o * m), 64)).ToArray();
                var x = (float*)NativeMemory.AlignedAlloc((nuint)(4L * m * inF), 64);
                var random = new Random(5);
                for (int t = 0; t < outs.Length; t++) for (long i = 0; i < (long)outs[t] * inF; i++) ((float*)ws[t])[i] = random.NextSingle() - 0.5f;
                for (long i = 0; i < (long)m * inF; i++) x[i] = random.NextSingle() - 0.5f;
                (int, int) Part(int n, int part) => ((int)((long)n * part / threads) & ~31, part == threads - 1 ? n : (int)((long)n * (part + 1) / threads) & ~31);
                var separate = new List<double>(); var one = new List<double>();
                for (int round = 0; round < 9; round++)
                {
                    separate.Add(Time(() => team.Run(part =>
                    {
                        for (int t = 0; t < outs.Length; t++)
                        {
                            var (a, b) = Part(outs[t], part);
                            Gemm.Rows((float*)ws[t], null, x, (float*)ys[t], inF, outs[t], m, a, b, path, (float*)scratch[part]);
                        }
                    })));
                    one.Add(Time(() => team.Run(part =>
                    {
                        Span<Gemm.Target> targets = new Gemm.Target[outs.Length];
                        for (int t = 0; t < outs.Length; t++)
                        {
                            var (a, b) = Part(outs[t], part);
                            targets[t] = new Gemm.Target(new Gemm.Operand((float*)ws[t], inF), (float*)ys[t], outs[t], a, b);
                        }
                        Gemm.Multiply(targets, x, inF, inF, m, path, (float*)scratch[part]);
                    })));
                }
                Console.WriteLine($"| {m} | {string.Join(" + ", outs.Select(o => $"{o} × {inF}"))} | {Median(separate) * 1e3:F3} | {Median(one) * 1e3:F3} | {Median(separate) / Median(one):F3}× |");
                foreach (var p in ws.Concat(ys)) NativeMemory.AlignedFree((void*)p);
                NativeMemory.AlignedFree(x);
            }
        foreach (var s in scratch) NativeMemory.AlignedFree((void*)s);
        return 0;
    }

    static int Threads(string[] args) => args.Contains("--threads") ? int.Parse(args[Array.IndexOf(args, "--threads") + 1]) : 2;

    // Each thread's own Gemm scratch, 64-byte aligned (freed by the caller).
    static IntPtr[] Scratch(int threads) =>
        [.. Enumerable.Range(0, threads).Select(_ => (IntPtr)NativeMemory.AlignedAlloc((nuint)(Gemm.ScratchFloats * 4), 64))];

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
