using GenSharp.IO;

namespace GenSharp.Plotting;

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
        Finish(plot, path, title, "cross-entropy loss (nats/token)");
    }

    /// <summary>Several named curves (e.g. a GAN's D and G losses, a VAE's terms) as lines on one plot.</summary>
    public static void SaveSeries(string path, IReadOnlyList<(string Name, IReadOnlyList<(long Step, double Value)> Points)> series, string title, string yLabel)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (name, points) in series.Where(s => s.Points.Count > 0))
        {
            var s = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Value).ToArray());
            s.LegendText = name;
            s.MarkerSize = 0;
            s.LineWidth = 1;
        }
        Finish(plot, path, title, yLabel);
    }

    /// <summary>Named curves of y against any x (e.g. reward against KL over a run), points marked.</summary>
    public static void SaveXY(string path, IReadOnlyList<(string Name, IReadOnlyList<(double X, double Y)> Points)> series, string title, string xLabel, string yLabel)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (name, points) in series.Where(s => s.Points.Count > 0))
        {
            var s = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            s.LegendText = name;
            s.MarkerSize = 6;
            s.LineWidth = 1;
        }
        Finish(plot, path, title, yLabel, xLabel);
    }

    static void Finish(ScottPlot.Plot plot, string path, string title, string yLabel, string xLabel = "step")
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend();
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(900, 540, ScottPlot.ImageFormat.Png));
    }
}
