using System.Text.Encodings.Web;

namespace GenSharp.Tokenizers;

/// <summary>A tokenizer.json that is missing, malformed or of a kind we do not support.</summary>
public sealed class TokenizerFormatException(string path, string problem) : Exception($"{path}: {problem}");

