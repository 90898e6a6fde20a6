namespace GenSharp.IO;

/// <summary>One tensor of a GGUF file: its name, its dimensions innermost first (GGML's ne: a PyTorch [out, in] weight is [in, out]), type and place.</summary>
public sealed record GgufTensor(string Name, long[] Dims, GgmlType Type, long Offset, long Bytes)
{
    public long Elements => Dims.Aggregate(1L, (a, d) => a * d);
}
