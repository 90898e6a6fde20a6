using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GenSharp.Numerics;

/// <summary>
/// The instruction set a decode kernel uses. <see cref="Detect"/> picks the widest this CPU runs (checked at run time:
/// the machines here are Intel Xeons with AVX-512 and AMD EPYCs with AVX-512 or only AVX2); <see cref="Portable"/> —
/// 128-bit vectors, on every CPU .NET runs on — is always correct, and tests force it to keep it so.
/// </summary>
internal enum SimdPath
{
    Portable,
    Avx2,
    Avx512,
}

internal static class SimdPaths
{
    public static SimdPath Detect() =>
        Avx512F.IsSupported && Avx512BW.IsSupported && Fma.IsSupported ? SimdPath.Avx512
        : Avx2.IsSupported && Fma.IsSupported ? SimdPath.Avx2
        : SimdPath.Portable;

    /// <summary>Every path this CPU can run, narrowest first (what the tests compare).</summary>
    public static IReadOnlyList<SimdPath> Supported() => Enum.GetValues<SimdPath>().Where(p => p <= Detect()).ToArray();

    public static string Describe(SimdPath path) => path switch
    {
        SimdPath.Avx512 => "AVX-512",
        SimdPath.Avx2 => "AVX2 + FMA",
        _ => Vector128.IsHardwareAccelerated ? "128-bit vectors" : "scalar",
    };
}
