using System.Runtime.InteropServices;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Numerics;

/// <summary>
/// libtorch 2.10's oneDNN (mkldnn) convolution computes wrong fp32 input gradients — and transposed convolutions — on
/// some CPUs: on an AMD EPYC (Zen 4, AVX-512) machine an 8 → 2 channel 3×3 convolution's input gradient was off by
/// ~17 in every one of 200 tries with one thread and NaN or wrong in ~10 % with two, whatever DNNL_MAX_CPU_ISA,
/// ATEN_CPU_CAPABILITY or MKL_* said; the same libtorch is exact on Intel Xeons. Diffusion, GAN and VAE training then
/// diverge at step 1. Before the first convolutional model is built, a probe compares oneDNN's results with fp64
/// (which oneDNN does not run); when they differ, oneDNN is turned off for the process and ATen's own
/// im2col + GEMM convolution runs instead (exact; slower for large images). <c>GENSHARP_ONEDNN=off|on</c> skips the probe.
/// </summary>
public static class ConvolutionCheck
{
    public const string Variable = "GENSHARP_ONEDNN";
    static readonly Lazy<(bool TurnedOff, string Text)> _outcome = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>What the check found: "oneDNN convolutions exact", "oneDNN turned off: …", or the user's setting.</summary>
    public static string Outcome => _outcome.Value.Text;

    /// <summary>True once the probe has found oneDNN wrong and turned it off (false before any convolutional model was built).</summary>
    public static bool TurnedOff => _outcome.IsValueCreated && _outcome.Value.TurnedOff;

    /// <summary>Runs the probe once per process (later calls return at once). Throws when oneDNN is wrong and cannot be turned off.</summary>
    public static void EnsureCorrect() => _ = _outcome.Value;

    static (bool, string) Probe()
    {
        switch (Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant())
        {
            case "off": SetOneDnn(false, "set " + Variable + "=off"); return (false, "oneDNN off (" + Variable + "=off; probe skipped)");
            case "on": return (false, "oneDNN kept on (" + Variable + "=on; probe skipped)");
            case null or "": break;
            default: throw new ArgumentException($"{Variable}: expected 'on' or 'off', got '{Environment.GetEnvironmentVariable(Variable)}'");
        }
        int threads = get_num_threads();
        double worst = 0;
        try
        {
            // One thread fails every time on the affected CPUs; several threads fail intermittently, so both run.
            foreach (int t in threads > 1 ? [1, threads] : new[] { 1 })
            {
                set_num_threads(t);
                for (int i = 0; i < 3; i++) worst = Math.Max(worst, Error(i));
            }
        }
        finally { set_num_threads(threads); }
        if (worst < 1e-3) return (false, "oneDNN convolutions exact");
        var why = $"oneDNN fp32 convolution off by {(double.IsFinite(worst) ? worst.ToString("g3") : "NaN")} on this CPU";
        SetOneDnn(false, why);
        return (true, "oneDNN turned off: " + why);
    }

    /// <summary>Largest difference from fp64 of a convolution's output and input gradient and a transposed convolution's output.</summary>
    internal static double Error(int seed)
    {
        using var scope = NewDisposeScope();
        var gen = new TorchSharp.torch.Generator((ulong)(1234 + seed));
        var x = randn([8, 8, 16, 16], generator: gen);
        var w = randn([2, 8, 3, 3], generator: gen);
        var g = randn([8, 2, 16, 16], generator: gen);
        var x32 = x.detach().requires_grad_(true);
        var y32 = F.conv2d(x32, w, padding: [1, 1]);
        y32.backward([g]);
        var (x64, w64, g64) = (x.to(float64), w.to(float64), g.to(float64));
        var y64 = F.conv2d(x64, w64, padding: [1, 1]);
        var dx64 = F.conv_transpose2d(g64, w64, padding: [1, 1]);   // ∂⟨g, conv(x)⟩/∂x
        var t32 = F.conv_transpose2d(g, w, padding: [1, 1]);
        double Diff(Tensor a, Tensor b) { var d = (a.to(float64) - b).abs().max().item<double>(); return double.IsFinite(d) ? d : double.PositiveInfinity; }
        return new[] { Diff(y32, y64), Diff(x32.grad!, dx64), Diff(t32, dx64) }.Max();
    }

    // at::globalContext().setUserEnabledMkldnn(bool): the switch behind torch.backends.mkldnn.enabled, which TorchSharp
    // does not wrap. Itanium C++ names (Linux, macOS); `this` is the first argument.
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    static extern IntPtr GlobalContext();

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    static extern bool UserEnabledMkldnn(IntPtr context);

    /// <summary>Turns oneDNN on or off for the process (the bench times both on one machine).</summary>
    internal static void SetOneDnn(bool enabled, string why)
    {
        try
        {
            var context = GlobalContext();
            SetUserEnabledMkldnn(context, enabled);
            if (UserEnabledMkldnn(context) == enabled) return;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        throw new InvalidOperationException($"{why}, and this libtorch build offers no way to turn oneDNN off; convolutional models would train on wrong gradients");
    }
}
