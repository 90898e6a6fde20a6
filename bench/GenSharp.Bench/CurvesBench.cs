using System.Text.Json.Nodes;
using GenSharp.Plotting;

namespace GenSharp.Bench;

/// <summary>
/// Draws chosen metrics of a run's metrics.jsonl against the step (e.g. GRPO's eval_reward and kl), for the figures in
/// docs/benchmarks.md: <c>gensharp-bench curves RUN_DIR --metrics eval_reward,kl --out FILE.png [--title T] [--start NAME=VALUE]</c>.
/// <c>--start</c> adds a value measured before the run (e.g. the starting model's accuracy) as the metric's point at step 0.
/// </summary>
static class CurvesBench
{
    public static int Run(string[] args)
    {
        var run = args.FirstOrDefault() ?? throw new ArgumentException("usage: gensharp-bench curves RUN_DIR --metrics A,B --out FILE.png");
        var names = (ArgS(args, "--metrics") ?? throw new ArgumentException("--metrics NAME[,NAME…] is required")).Split(',');
        var output = ArgS(args, "--out") ?? throw new ArgumentException("--out FILE.png is required");
        var rows = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        if (ArgS(args, "--start")?.Split('=') is [var metric, var value])
            rows.Insert(0, new JsonObject { ["step"] = 0L, [metric] = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture) });
        var series = names.Select(n => (Name: n, Points: (IReadOnlyList<(long, double)>)[.. rows.Where(r => r[n] is not null).Select(r => ((long)r["step"]!, (double)r[n]!))])).ToList();
        foreach (var (name, points) in series)
            Console.WriteLine($"{name}: {string.Join(", ", points.Select(p => $"{p.Item1}:{p.Item2:G4}"))}");
        LossCurve.SaveSeries(output, series, ArgS(args, "--title") ?? Path.GetFileName(Path.GetFullPath(run)), string.Join(", ", names));
        return 0;
    }

    static string? ArgS(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
