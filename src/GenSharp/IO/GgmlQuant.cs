using System.Buffers.Binary;
using System.Runtime.InteropServices;
using GenSharp.Numerics;

namespace GenSharp.IO;

/// <summary>
/// GGML's element encodings: fp16, bf16 and q8_0 — blocks of 32 values stored as d = max|x| / 127 (fp16) and
/// q_i = round(x_i / d) (int8, half away from zero, as ggml's reference quantize_row_q8_0 does), read back as q_i · d.
/// </summary>
public static class GgmlQuant
{
    public static byte[] Encode(ReadOnlySpan<float> values, GgmlType type)
    {
        switch (type)
        {
            case GgmlType.F32:
            {
                var bytes = new byte[values.Length * 4];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
                return bytes;
            }
            case GgmlType.F16:
            {
                var bytes = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
                return bytes;
            }
            case GgmlType.BF16:
            {
                var bytes = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), ToBf16(values[i]));
                return bytes;
            }
            case GgmlType.Q8_0:
            {
                if (values.Length % GgmlTypes.Q8Block != 0) throw new ArgumentException($"q8_0 needs a multiple of {GgmlTypes.Q8Block} values (got {values.Length})");
                var bytes = new byte[values.Length / GgmlTypes.Q8Block * GgmlTypes.Q8BlockBytes];
                for (int b = 0; b < values.Length / GgmlTypes.Q8Block; b++)
                {
                    var outBlock = bytes.AsSpan(b * GgmlTypes.Q8BlockBytes, GgmlTypes.Q8BlockBytes);
                    var d = Q8Matrix.QuantizeBlock(values.Slice(b * GgmlTypes.Q8Block, GgmlTypes.Q8Block), MemoryMarshal.Cast<byte, sbyte>(outBlock[2..]));
                    BinaryPrimitives.WriteHalfLittleEndian(outBlock, d);
                }
                return bytes;
            }
            default: throw new ArgumentException($"GGML type {type} cannot be written");
        }
    }

    public static float[] Decode(ReadOnlySpan<byte> bytes, GgmlType type, long elements)
    {
        var values = new float[elements];
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                break;
            case GgmlType.F16:
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < values.Length; i++) values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16);
                break;
            case GgmlType.Q8_0:
                for (int b = 0; b < values.Length / GgmlTypes.Q8Block; b++)
                {
                    var block = bytes.Slice(b * GgmlTypes.Q8BlockBytes, GgmlTypes.Q8BlockBytes);
                    float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
                    for (int j = 0; j < GgmlTypes.Q8Block; j++) values[b * GgmlTypes.Q8Block + j] = (sbyte)block[2 + j] * d;
                }
                break;
            default: throw new ArgumentException($"GGML type {type} cannot be read");
        }
        return values;
    }

    /// <summary>fp32 → bf16 with round-to-nearest-even (NaN kept quiet), as PyTorch and ggml convert.</summary>
    public static ushort ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }
}
