namespace GenSharp.Evaluation;

/// <summary>What <see cref="AnomalyScores.Score"/> found: each image's score, the images most anomalous first, AUROC and per-class means.</summary>
/// <param name="Scores">−ELBO in nats per image (higher = less likely under the VAE = more unusual).</param>
/// <param name="Ranking">Image indices by descending score.</param>
/// <param name="AnomalousClass">The class scored as the anomaly for <paramref name="Auroc"/>, if any.</param>
public sealed record AnomalyReport(double[] Scores, int[] Ranking, string? AnomalousClass, double? Auroc,
    IReadOnlyList<(string Class, int Count, double MeanScore)> ByClass);

