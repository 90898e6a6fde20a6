namespace GenSharp.Pipelines;

/// <summary>A model directory could not be loaded; the message names the file and the problem.</summary>
public sealed class ModelLoadException(string message) : Exception(message);
