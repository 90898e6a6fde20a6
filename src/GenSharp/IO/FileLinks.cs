using System.Runtime.InteropServices;

namespace GenSharp.IO;

/// <summary>
/// Publishes a finished file under a second name without copying: a hard link made under a temp name, then renamed
/// over the target, so readers see the old file or the new one. Falls back to an atomic copy where links fail.
/// </summary>
internal static class FileLinks
{
    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string existing, [MarshalAs(UnmanagedType.LPUTF8Str)] string created);

    /// <summary>Makes <paramref name="target"/> name the same content as <paramref name="source"/>, atomically.</summary>
    public static void Publish(string source, string target, Action? boundary = null)
    {
        var temp = $"{target}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        if (!TryLink(source, temp)) File.Copy(source, temp);
        boundary?.Invoke();
        File.Move(temp, target, overwrite: true);
        // rename(2) does nothing when both names are links to one file (the target was already published): drop the temp name.
        if (File.Exists(temp)) File.Delete(temp);
        boundary?.Invoke();
    }

    static bool TryLink(string source, string target)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return false;
        try { return Link(source, target) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }
}
