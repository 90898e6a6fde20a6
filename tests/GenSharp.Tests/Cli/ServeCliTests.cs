using System.Diagnostics;
using System.Text.RegularExpressions;

namespace GenSharp.Tests.Cli;

/// <summary><c>gensharp serve</c> as a user starts it: a real process, a free port, the address it prints.</summary>
public sealed partial class ServeCliTests : TempDirectoryTest
{
    [Fact]
    public async Task ServeStartsAnswersAndStopsOnSigterm()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "GenSharp.Cli.dll"));
        foreach (var a in new[] { "serve", "--port", "0", "--models", CliRunner.Bundled(), "--feedback-db", Path.Combine(_dir, "f.db") }) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        try
        {
            string? address = null;
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (address is null && DateTime.UtcNow < deadline && await p.StandardOutput.ReadLineAsync() is { } line)
                if (Address().Match(line) is { Success: true } m) address = m.Groups[1].Value;
            Assert.NotNull(address);
            using var http = new HttpClient();
            var health = await http.GetStringAsync(address + "/health");
            Assert.Contains("\"shakespeare-char\"", health);
            Assert.Contains("<title>GenSharp playground</title>", await http.GetStringAsync(address + "/"));
        }
        finally
        {
            Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(20)), "the server did not stop on SIGTERM");
        }
        Assert.True(File.Exists(Path.Combine(_dir, "f.db")));
    }

    [Fact]
    public void BadServeFlagsAreClearErrors()
    {
        var r = CliRunner.Run(null, "serve", "--port", "70000");
        Assert.Equal(1, r.Code);
        Assert.Contains("port must be in 0…65535", r.Err);
        r = CliRunner.Run(null, "serve", "--port", "0", "--models", Path.Combine(_dir, "nope"));
        Assert.Equal(1, r.Code);
        Assert.Contains("nope", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [GeneratedRegex(@"playground on (http://127\.0\.0\.1:\d+)/")]
    private static partial Regex Address();
}
