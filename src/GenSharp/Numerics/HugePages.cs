using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GenSharp.Numerics;

/// <summary>
/// Asks libtorch to back its large CPU tensors (≥ 2 MiB) with transparent huge pages (c10's <c>THP_MEM_ALLOC_ENABLE</c>).
/// Without it, every large temporary — ATen's im2col buffer for a batch of 200 images is ~360 MB — is fresh 4 KiB pages
/// from the kernel, and page faults dominate: a U-Net sampling step took 5.6 s with ATen's convolution and 1.0 s with
/// huge pages (<c>gensharp-bench conv</c>). c10 reads the variable once, at its first allocation, so this runs when
/// GenSharp is first touched; a variable the user set is left alone. Linux only (c10 implements it nowhere else).
/// </summary>
static class HugePages
{
    public const string Variable = "THP_MEM_ALLOC_ENABLE";

#pragma warning disable CA2255   // a library's module initializer: it must run before libtorch's first allocation
    [ModuleInitializer]
    internal static void Enable()
#pragma warning restore CA2255
    {
        if (!OperatingSystem.IsLinux()) return;
        try { _ = setenv(Variable, "1", 0); }   // the native environment: .NET's SetEnvironmentVariable does not reach getenv
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [DllImport("libc", SetLastError = true)]
    static extern int setenv(string name, string value, int overwrite);
}
