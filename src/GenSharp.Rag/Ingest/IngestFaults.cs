using System.Runtime.InteropServices;

namespace GenSharp.Rag.Ingest;

/// <summary>
/// Kill -9 mid-ingest, to prove an ingest is all or nothing: <c>GENSHARP_KILL_AT_INGEST=N</c> sends SIGKILL to this
/// process after the N-th file is written into the (uncommitted) transaction. Unset, a file costs one null check.
/// </summary>
static class IngestFaults
{
    static readonly int? Target = int.TryParse(Environment.GetEnvironmentVariable("GENSHARP_KILL_AT_INGEST"), out int n) ? n : null;
    static int _written;

    [DllImport("libc", EntryPoint = "kill")]
    static extern int Kill(int pid, int signal);

    public static void FileWritten()
    {
        if (Target is { } n && Interlocked.Increment(ref _written) == n) Kill(Environment.ProcessId, 9);
    }
}
