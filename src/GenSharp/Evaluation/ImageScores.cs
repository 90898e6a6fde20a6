namespace GenSharp.Evaluation;

/// <summary>Quality of a set of images as seen by the Fashion-MNIST classifier.</summary>
public sealed record ImageScores(int Count, double Fid, double InceptionScore, double? ClassAccuracy);

