namespace GenSharp.Tests;

/// <summary>Base for test classes that write files: each test instance gets its own directory, deleted afterwards.</summary>
public abstract class TempDirectoryTest : IDisposable
{
    protected readonly string _dir = Directory.CreateTempSubdirectory("gensharp-test-").FullName;

    public void Dispose()
    {
        Directory.Delete(_dir, true);
        GC.SuppressFinalize(this);
    }
}
