using System.Buffers.Binary;

namespace GenSharp.IO;

/// <summary>One tensor entry of a safetensors header.</summary>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End);

