using System.Diagnostics;

namespace GenSharp.Tests.Cli;

/// <summary>Runs the real gensharp executable (the built GenSharp.Cli.dll) as a user would.</summary>
static class CliRunner
{
    public static (int Code, string Out, string Err) Run(string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "GenSharp.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException($"gensharp {string.Join(' ', args)} hung"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The repository root (the folder holding GenSharp.slnx) above the test binary.</summary>
    public static string Repo()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "GenSharp.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("GenSharp.slnx not found above the test binary");
    }

    /// <summary>The bundled model directory, found above the test binary.</summary>
    public static string Bundled(string name = "shakespeare-char")
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "models", name))) return Path.Combine(d.FullName, "models", name);
        throw new DirectoryNotFoundException($"models/{name} not found above the test binary");
    }
}
