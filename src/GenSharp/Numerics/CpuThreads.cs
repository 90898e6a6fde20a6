using System.Runtime.InteropServices;

namespace GenSharp.Numerics;

/// <summary>
/// How libtorch's CPU worker threads wait. Its OpenMP runtime (GNU libgomp) spins up to 300,000 iterations at every
/// barrier; when another process shares the cores, the spinning threads take the time the working ones need and a
/// step can become 50× slower (measured: nano-cpu 38 → 1,750 ms/step with two runs on 2 cores). A spin count of 1,000
/// costs nothing measurable alone and keeps two runs at ~2.3× (docs/benchmarks.md, "Shared cores").
/// </summary>
public static class CpuThreads
{
    public const string SpinCountVariable = "GOMP_SPINCOUNT", WaitPolicyVariable = "OMP_WAIT_POLICY";
    public const int SharedFriendlySpinCount = 1000;

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>
    /// Sets <c>GOMP_SPINCOUNT</c> to <see cref="SharedFriendlySpinCount"/> unless the user chose a spin count or wait
    /// policy. Must run before the first TorchSharp call (libgomp reads its environment once, when it loads); later
    /// calls change nothing. Returns whether it set the variable.
    /// </summary>
    public static bool YieldWhenShared()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (Environment.GetEnvironmentVariable(SpinCountVariable) is not null || Environment.GetEnvironmentVariable(WaitPolicyVariable) is not null)
            return false;
        try { return SetEnv(SpinCountVariable, SharedFriendlySpinCount.ToString(), 0) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }
}
