using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using GenSharp.Numerics;

namespace GenSharp.Bench;

/// <summary>
/// The machine's read bandwidth, the limit a batch-1 decode step runs against: 256 MiB of native memory on transparent
/// huge pages (as libtorch's weights are), two threads each summing its half as 1, 2, 4 or 8 interleaved sequential
/// streams; the best of 7 passes of the best pattern. (A managed array summed as one stream a thread read 36 GB/s on an
/// EPYC where this reads 55–69.)
/// </summary>
static unsafe class MemoryProbe
{
    public static double Read(bool print)
    {
        const long bytes = 256L << 20;
        using var team = new ThreadTeam(2);
        var p = (float*)NativeMemory.AlignedAlloc((nuint)bytes, 2 << 20);
        try
        {
            Madvise(p, (nuint)bytes, 14);                                           // MADV_HUGEPAGE
            new Span<float>(p, (int)(bytes / 4)).Fill(1);
            double best = 0;
            var sums = new float[2];
            foreach (int streams in new[] { 1, 2, 4, 8 })
            {
                double pattern = 0;
                for (int r = 0; r < 7; r++)
                {
                    var sw = Stopwatch.StartNew();
                    team.Run(part =>
                    {
                        long half = bytes / 4 / 2, each = half / streams;
                        float* start = p + part * half;
                        var acc = Vector512<float>.Zero;
                        for (long k = 0; k < each; k += 16)
                            for (int s = 0; s < streams; s++) acc += Vector512.Load(start + s * each + k);
                        sums[part] = Vector512.Sum(acc);
                    });
                    pattern = Math.Max(pattern, bytes / sw.Elapsed.TotalSeconds / 1e9);
                }
                if (sums.Sum() != bytes / 4) throw new InvalidOperationException("the bandwidth probe summed wrong");
                if (print) Console.WriteLine($"{streams} stream(s) a thread: {pattern:F1} GB/s");
                best = Math.Max(best, pattern);
            }
            return best;
        }
        finally { NativeMemory.AlignedFree(p); }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    static extern int Madvise(void* addr, nuint length, int advice);
}
