namespace GenSharp.Pipelines;

/// <summary>Texts → vectors of a fixed size, for retrieval and similarity.</summary>
public interface ITextEmbedder
{
    int Dimensions { get; }

    /// <summary>One vector per text, in order.</summary>
    float[][] Embed(IReadOnlyList<string> texts);
}
