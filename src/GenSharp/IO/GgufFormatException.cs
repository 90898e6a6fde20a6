namespace GenSharp.IO;

/// <summary>A file that is not a GGUF file GenSharp can read; the message names the file and the problem.</summary>
public sealed class GgufFormatException(string path, string problem) : Exception($"{path}: not a valid GGUF file: {problem}")
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}
