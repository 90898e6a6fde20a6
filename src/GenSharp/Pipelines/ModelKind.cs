namespace GenSharp.Pipelines;

/// <summary>What a model directory holds, by its config's <c>model_type</c> (and, for Llama models, <c>architectures</c>).</summary>
public enum ModelKind { Language, Image, Classifier, Reward, Embedder }
