using GenSharp.IO;

namespace GenSharp.Reporting;

/// <summary>Renders training and validation loss against step as a PNG.</summary>
public static class LossCurve
{
    public static void Save(string path, IReadOnlyList<(long Step, double Loss)> train, IReadOnlyList<(long Step, double Loss)> val, string title)
    {
        var plot = new ScottPlot.Plot();
        if (train.Count > 0)
        {
            var s = plot.Add.Scatter(train.Select(p => (double)p.Step).ToArray(), train.Select(p => p.Loss).ToArray());
            s.LegendText = "train (batch)";
            s.MarkerSize = 0;
            s.LineWidth = 1;
        }
        if (val.Count > 0)
        {
            var s = plot.Add.Scatter(val.Select(p => (double)p.Step).ToArray(), val.Select(p => p.Loss).ToArray());
            s.LegendText = "validation";
            s.MarkerSize = 6;
            s.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("cross-entropy loss (nats/token)");
        plot.ShowLegend();
        var bytes = plot.GetImageBytes(900, 540, ScottPlot.ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, bytes);
    }
}
