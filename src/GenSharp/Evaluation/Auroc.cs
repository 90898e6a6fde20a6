namespace GenSharp.Evaluation;

/// <summary>Area under the ROC curve of a score that should be higher for positives (e.g. anomalies).</summary>
public static class Auroc
{
    /// <summary>
    /// P(score of a random positive > score of a random negative) + ½ P(tie), computed as the Mann–Whitney U
    /// statistic with average ranks for ties: 1 = perfect separation, 0.5 = chance.
    /// </summary>
    public static double Compute(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count) throw new ArgumentException($"{scores.Count} scores but {positive.Count} labels");
        if (scores.Any(s => !double.IsFinite(s))) throw new ArgumentException("scores must be finite");
        long nPos = positive.Count(p => p), nNeg = positive.Count - nPos;
        if (nPos == 0 || nNeg == 0) throw new ArgumentException("AUROC needs at least one positive and one negative");
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double rankSumPos = 0;
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;                            // average 1-based rank of the tie group
            for (int k = i; k <= j; k++) if (positive[order[k]]) rankSumPos += rank;
            i = j + 1;
        }
        return (rankSumPos - nPos * (nPos + 1) / 2.0) / ((double)nPos * nNeg);
    }
}
