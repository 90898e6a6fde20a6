using System.CommandLine;
using GenSharp.Models;

namespace GenSharp.Cli.Commands;

/// <summary><c>--quantize</c> and <c>--decode</c>: how a language model's decode steps run (generate, chat, serve).</summary>
sealed class DecodeFlags
{
    public readonly Option<string> Quantize = Cli.Opt("--quantize",
        "Weights for decoding: none (fp32) or int8 (q8_0 blocks of 32 with an fp16 scale: ~3.6× fewer bytes a token; the cost is measured in docs/benchmarks.md)", "none");
    public readonly Option<string> Decode = Cli.Opt("--decode",
        "What runs decode steps: kernels (GenSharp's CPU kernels where the model allows) or libtorch", "kernels");

    public IEnumerable<Option> All => [Quantize, Decode];

    public DecodeKernelOptions Read(ParseResult r)
    {
        bool kernels = r.GetValue(Decode) switch
        {
            "kernels" => true,
            "libtorch" => false,
            var other => throw new UserError($"--decode '{other}' is not kernels or libtorch"),
        };
        bool int8 = Int8(r.GetValue(Quantize)!);
        if (int8 && !kernels) throw new UserError("--quantize int8 runs on GenSharp's kernels; it cannot be combined with --decode libtorch");
        return new DecodeKernelOptions { Enabled = kernels, Int8 = int8 };
    }

    /// <summary>A <c>--quantize</c> value: none (false) or int8 (true); anything else is a one-line error.</summary>
    public static bool Int8(string quantize) => quantize switch
    {
        "none" => false,
        "int8" => true,
        var other => throw new UserError($"--quantize '{other}' is not none or int8"),
    };
}
