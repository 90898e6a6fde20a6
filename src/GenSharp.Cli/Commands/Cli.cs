using GenSharp.Pipelines;
using System.CommandLine;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Tokenizers;
using GenSharp.Training;
using Spectre.Console;
using TorchSharp;

namespace GenSharp.Cli.Commands;

/// <summary>Shared option builders and the error boundary every command runs inside.</summary>
static class Cli
{
    public static torch.Device ResolveDevice(string name) => name.ToLowerInvariant() switch
    {
        "cpu" => torch.CPU,
        "cuda" when torch.cuda.is_available() => torch.CUDA,
        "cuda" => throw new UserError("--device cuda: CUDA is not available (this build uses TorchSharp-cpu or no GPU is present)"),
        _ => throw new UserError($"--device '{name}' is not a device (use cpu or cuda)"),
    };

    public static Option<T> Opt<T>(string name, string description) => new(name) { Description = description };

    public static Option<T> Opt<T>(string name, string description, T defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

    /// <summary>When output is piped, do not wrap lines at 80 columns.</summary>
    public static void ConfigureConsole()
    {
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 240;
    }

    /// <summary>Runs a command body; known failures print one red line and exit 1 — never a stack trace.</summary>
    public static int Run(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (e is UserError or FileNotFoundException or DirectoryNotFoundException or ModelLoadException
                                       or SafeTensorsFormatException or GgufFormatException or TokenizerFormatException or TrainingDivergedException
                                       or ArgumentException or InvalidDataException or InvalidOperationException or IOException
                                       or UnauthorizedAccessException)
        {
            // Plain stderr: one unwrapped line that scripts can grep.
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("GENSHARP_DEBUG") is null)
        {
            Console.Error.WriteLine($"error: unexpected {e.GetType().Name}: {e.Message} (set GENSHARP_DEBUG=1 for details)");
            return 70;
        }
    }

    // The SIGTERM registration lives as long as the process: a registration that is collected stops handling the
    // signal, and the default action then kills the run without its checkpoint.
    static readonly CancellationTokenSource Signalled = new();
    static System.Runtime.InteropServices.PosixSignalRegistration? _sigterm;

    /// <summary>Cancelled by Ctrl-C or SIGTERM (from the first call on), so long runs can checkpoint before exiting.</summary>
    public static CancellationToken CancelOnSignals()
    {
        lock (Signalled)
        {
            if (_sigterm is null)
            {
                _sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                    System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; Signalled.Cancel(); });
                Console.CancelKeyPress += (_, e) => { e.Cancel = true; Signalled.Cancel(); };
            }
        }
        return Signalled.Token;
    }

    /// <summary><paramref name="path"/> itself when it exists, else the shipped directory of that name.</summary>
    public static string FindShippedOr(string path) =>
        Directory.Exists(path) ? path
        : Path.IsPathRooted(path) || path.StartsWith('.') ? throw new UserError($"{path}: directory not found")
        : FindShipped(path);

    /// <summary>Finds a directory shipped with the repo (models/…, data/…) from the app's location or GENSHARP_HOME.</summary>
    public static string FindShipped(string relative)
    {
        var roots = new List<string?> { Environment.GetEnvironmentVariable("GENSHARP_HOME"), Directory.GetCurrentDirectory() };
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent) roots.Add(d.FullName);
        foreach (var root in roots.OfType<string>())
        {
            var candidate = Path.Combine(root, relative);
            if (Directory.Exists(candidate) || File.Exists(candidate)) return candidate;
        }
        throw new UserError($"{relative} not found next to the gensharp install (set GENSHARP_HOME to the repository root)");
    }

    static int _convolutionNoted;

    /// <summary>Says once per process, on stderr, that oneDNN convolutions were turned off (they were wrong on this CPU).</summary>
    public static void NoteConvolutionCheck()
    {
        if (Numerics.ConvolutionCheck.TurnedOff && Interlocked.Exchange(ref _convolutionNoted, 1) == 0)
            Console.Error.WriteLine($"note: {Numerics.ConvolutionCheck.Outcome}; ATen's own convolution runs instead ({Numerics.ConvolutionCheck.Variable}=on|off overrides)");
    }

    /// <summary>The command line as typed (quoted where needed), for model cards.</summary>
    public static string CommandLine() =>
        "gensharp " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(a => a.Any(char.IsWhiteSpace) || a.Length == 0 ? $"\"{a}\"" : a));

    public static string Describe(LlamaForCausalLM model) =>
        $"{model.Config.NumLayers} layers · {model.Config.HiddenSize} dims · {model.ParameterCount:N0} parameters · context {model.Config.MaxPositions}";
}

