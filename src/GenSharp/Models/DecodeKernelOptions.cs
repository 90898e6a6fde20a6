namespace GenSharp.Models;

/// <summary>How the generation engine runs decode steps on the CPU (<see cref="LlamaCpuDecoder"/>).</summary>
public sealed record DecodeKernelOptions
{
    /// <summary>Decode with GenSharp's CPU kernels where the model allows (fp32 on the CPU, no LoRA); false: libtorch ops.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// Int8: the projection and output matrices become q8_0 blocks (32 weights, one fp16 scale) and the model's own weights
    /// are replaced by the dequantized values, so prefill (libtorch) and decode compute the same function. Not for a
    /// model that is still training.
    /// </summary>
    public bool Int8 { get; init; }

    /// <summary>Threads of the decode kernels (null: libtorch's thread count, which <c>--threads</c> sets).</summary>
    public int? Threads { get; init; }

    public static readonly DecodeKernelOptions Default = new();

    public DecodeKernelOptions Validate()
    {
        if (Threads is < 1 or > 1024) throw new ArgumentException($"DecodeKernelOptions.Threads must be in 1…1024 (got {Threads})");
        if (Int8 && !Enabled) throw new ArgumentException("DecodeKernelOptions.Int8 needs the decode kernels (Enabled = true)");
        return this;
    }
}
