using GenSharp.Data;
using GenSharp.Pipelines;

namespace GenSharp.Evaluation;

/// <summary>
/// Anomaly detection with a VAE: an image's score is its −ELBO averaged over z samples; with a known anomalous class
/// (named, or the class the VAE was trained without when the images include it), AUROC measures how well the scores
/// separate that class from the rest (Mann–Whitney, ties counted half).
/// </summary>
public static class AnomalyScores
{
    public static AnomalyReport Score(VaePipeline vae, ImageDataset data, int samples, long seed, string? anomalousClass = null)
    {
        if (samples is < 1 or > 1000) throw new ArgumentException($"samples must be in 1…1000 (got {samples})");
        var scores = vae.NegativeElbo(data, samples, seed);
        var labels = data.Labels.data<long>().ToArray();
        var held = vae.Model.Config.HeldOutClass;
        var className = anomalousClass ?? (held is not null && data.ClassNames.Contains(held, StringComparer.OrdinalIgnoreCase) ? held : null);
        double? auroc = null;
        if (className is not null)
        {
            int a = ClassNames.Index(data.ClassNames, className);
            className = data.ClassNames[a];
            var positive = labels.Select(l => l == a).ToArray();
            if (positive.All(p => p) || !positive.Any(p => p))
                throw new ArgumentException($"AUROC needs images of class '{className}' and of other classes");
            auroc = Auroc.Compute(scores, positive);
        }
        var ranking = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ToArray();
        var byClass = data.ClassNames.Select((name, ci) => (Name: name, Idx: Enumerable.Range(0, scores.Length).Where(i => labels[i] == ci).ToArray()))
            .Where(x => x.Idx.Length > 0).Select(x => (x.Name, x.Idx.Length, x.Idx.Average(i => scores[i]))).ToArray();
        return new AnomalyReport(scores, ranking, className, auroc, byClass);
    }
}
