using System.Runtime.InteropServices;

namespace GenSharp.IO;

/// <summary>
/// Kill -9 at a chosen file boundary of a checkpoint, to prove that a run killed at any instant resumes.
/// <c>GENSHARP_KILL_AT_CHECKPOINT=STEP:N</c> sends SIGKILL to this process at the N-th boundary (1-based) of the
/// checkpoint for step STEP. Unset (always, outside the crash tests), a boundary costs one null check.
/// </summary>
internal static class FaultInjection
{
    static readonly (long Step, int N)? Target = Parse(Environment.GetEnvironmentVariable("GENSHARP_KILL_AT_CHECKPOINT"));
    static int _passed;
    [ThreadStatic] static long? _current;

    /// <summary>Marks the checkpoint for <paramref name="step"/> as being written on this thread (until disposed).</summary>
    public static IDisposable Checkpoint(long step)
    {
        _current = step;
        return new Scope();
    }

    sealed class Scope : IDisposable { public void Dispose() => _current = null; }

    /// <summary>A file boundary inside the checkpoint being written on this thread, if any.</summary>
    public static void Boundary()
    {
        if (_current is { } step) Boundary(step);
    }

    [DllImport("libc", EntryPoint = "kill")]
    static extern int Kill(int pid, int signal);

    static (long, int)? Parse(string? value)
    {
        var parts = value?.Split(':');
        return parts is [var s, var n] && long.TryParse(s, out var step) && int.TryParse(n, out var count) ? (step, count) : null;
    }

    /// <summary>One boundary of the checkpoint for <paramref name="step"/> has been passed.</summary>
    public static void Boundary(long step)
    {
        if (Target is not { } t || t.Step != step) return;
        if (++_passed == t.N) Kill(Environment.ProcessId, 9);
    }
}
