namespace GenSharp.IO;

/// <summary>The GGML tensor types GenSharp reads and writes (ids as in ggml.h).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,    // blocks of 32: an fp16 scale and 32 int8 values (34 bytes)
    BF16 = 30,
}

internal static class GgmlTypes
{
    public const int Q8Block = 32, Q8BlockBytes = 34;

    /// <summary>Bytes of a tensor of <paramref name="elements"/> values whose rows are <paramref name="rowLength"/> long, or null when the type cannot hold that shape.</summary>
    public static long? Bytes(GgmlType type, long elements, long rowLength) => type switch
    {
        GgmlType.F32 => checked(elements * 4),
        GgmlType.F16 or GgmlType.BF16 => checked(elements * 2),
        GgmlType.Q8_0 when rowLength % Q8Block == 0 => checked(elements / Q8Block * Q8BlockBytes),
        _ => null,
    };
}
