using System.CommandLine;
using TorchSharp;

namespace GenSharp.Cli.Commands;

/// <summary><c>--device</c> and <c>--threads</c>, on every command that computes with tensors.</summary>
sealed class ComputeFlags
{
    public readonly Option<string> Device = Cli.Opt("--device", "Compute device: cpu or cuda", "cpu");
    public readonly Option<int?> Threads = Cli.Opt<int?>("--threads",
        "CPU threads for tensor operations (default: the cores; libtorch threads yield soon when the cores are shared)");

    public IEnumerable<Option> All => [Device, Threads];

    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>Applies <c>--threads</c> and returns the device.</summary>
    public torch.Device Resolve(ParseResult r)
    {
        if (r.GetValue(Threads) is { } n)
        {
            if (n < 1 || n > 1024) throw new UserError($"--threads must be in 1…1024 (got {n})");
            torch.set_num_threads(n);
        }
        return Cli.ResolveDevice(r.GetValue(Device)!);
    }
}
