namespace GenSharp.Pipelines;

/// <summary>What a model directory holds, by its config's <c>model_type</c>.</summary>
public enum ModelKind { Language, Image, Classifier }
