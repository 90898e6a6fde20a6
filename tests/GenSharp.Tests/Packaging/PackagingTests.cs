using System.Diagnostics;
using GenSharp.Tests.Cli;

namespace GenSharp.Tests.Packaging;

/// <summary>
/// What a .NET user does with GenSharp's packages: install the gensharp tool from a folder feed into a tool path and run it;
/// reference the library package from a new console project and generate text. Real dotnet pack / tool install / build.
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class PackagingTests : TempDirectoryTest
{
    static readonly string Repo = CliRunner.Repo();

    static string Dotnet(string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return Run(psi, $"dotnet {string.Join(' ', args)}");
    }

    static string Run(ProcessStartInfo psi, string what)
    {
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException($"{what} hung"); }
        Assert.True(p.ExitCode == 0, $"{what} exited {p.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }

    [Fact]
    public void TheToolInstallsFromALocalFeedAndGeneratesText()
    {
        var feed = Path.Combine(_dir, "feed");
        Dotnet(Repo, "pack", "src/GenSharp.Cli/GenSharp.Cli.csproj", "-c", "Release", "-o", feed, "-nologo");
        Assert.True(File.Exists(Path.Combine(feed, "GenSharp.Tool.linux-x64.0.1.0.nupkg")), string.Join(", ", Directory.GetFiles(feed)));
        var tools = Path.Combine(_dir, "tools");
        Dotnet(_dir, "tool", "install", "GenSharp.Tool", "--version", "0.1.0", "--tool-path", tools, "--add-source", feed);

        string Gensharp(params string[] args)
        {
            var psi = new ProcessStartInfo(Path.Combine(tools, "gensharp")) { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["NO_COLOR"] = "1";
            psi.Environment.Remove("GENSHARP_HOME");   // nothing from the repository: the tool stands alone
            return Run(psi, $"gensharp {string.Join(' ', args)}");
        }
        var text = Gensharp("generate", "--model", CliRunner.Bundled(), "--prompt", "ROMEO:", "--max-tokens", "40", "--seed", "1");
        Assert.StartsWith("ROMEO:", text);
        Assert.True(text.Trim().Length >= 40, text);
        // The bundled models travel with the tool: the demo runs from an empty directory.
        var grid = Path.Combine(_dir, "classes.png");
        var demo = Gensharp("demo", "--max-tokens", "20", "--image-out", grid);
        Assert.Contains("ROMEO:", demo);
        Assert.True(File.Exists(grid));
    }

    [Fact]
    public void AConsoleProjectReferencingTheLibraryPackageGeneratesText()
    {
        // A version of its own, so the global NuGet cache never serves an older build of the same number.
        var version = $"0.1.0-test.{Guid.NewGuid():N}"[..30];
        var feed = Path.Combine(_dir, "feed");
        Dotnet(Repo, "pack", "src/GenSharp/GenSharp.csproj", "-c", "Release", "--no-build", "-o", feed, $"-p:Version={version}", "-nologo");
        var app = Path.Combine(_dir, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
                <SelfContained>false</SelfContained>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="GenSharp" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using GenSharp.Pipelines;
            using GenSharp.Sampling;

            var text = AutoPipeline.OpenText(args[0]);
            var result = text.Generate("ROMEO:", new GenerationOptions { MaxTokens = 30, Seed = 7 });
            Console.WriteLine("ROMEO:" + result.Choices[0].Text);
            Console.WriteLine($"tokens: {result.Usage.CompletionTokens}");
            """);
        try
        {
            Dotnet(app, "build", "-c", "Release", "-nologo", "-v", "q");
            // The package's buildTransitive props: the app compiles methods optimized at once (the kernels' TensorPrimitives).
            var runtimeConfig = File.ReadAllText(Directory.GetFiles(Path.Combine(app, "bin"), "app.runtimeconfig.json", SearchOption.AllDirectories).Single());
            Assert.Contains("\"System.Runtime.TieredCompilation.QuickJit\": false", runtimeConfig);
            var output = Dotnet(app, "run", "-c", "Release", "--no-build", "--", CliRunner.Bundled());
            Assert.StartsWith("ROMEO:", output);
            Assert.Contains("tokens: 30", output);
        }
        finally
        {
            var cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "gensharp", version);
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
        }
    }
}

/// <summary>Packing and building run one at a time: both drive MSBuild over the same source tree.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackagingCollection { public const string Name = "packaging"; }
