using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Imaging;
using GenSharp.IO;
using GenSharp.Pipelines;
using Spectre.Console;
using static TorchSharp.torch;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp anomaly</c>: scores images by a VAE's −ELBO; with a known anomalous class, reports AUROC.</summary>
static class AnomalyCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "VAE model directory", Required = true };
        var images = new Option<string[]>("--images")
        {
            Description = "Images: fashion-mnist (the test set), fashion-mnist:N, a folder (subfolders = classes) or image files",
            DefaultValueFactory = _ => [ImageData.FashionMnistName], AllowMultipleArgumentsPerToken = true,
        };
        var anomalous = Cli.Opt<string?>("--anomalous-class", "Class that counts as anomalous for AUROC (default: the class the VAE was trained without)");
        var samples = Cli.Opt("--samples", "z samples averaged per image", 8);
        var top = Cli.Opt("--top", "List this many highest-scoring images", 10);
        var csv = Cli.Opt<string?>("--out", "Write every score as CSV (name, class, score)");
        var grid = Cli.Opt<string?>("--grid", "PNG grid of the highest-scoring images");
        var json = Cli.Opt("--json", "Print JSON", false);
        var seed = Cli.Opt<long>("--seed", "Seed of the z samples", 0);
        var compute = new ComputeFlags();
        var cmd = new Command("anomaly", "Score images with a VAE: −ELBO in nats (higher = more unusual); AUROC when one class is the anomaly")
        {
            model, images, anomalous, samples, top, csv, grid, json, seed, compute.Device, compute.Threads,
        };
        cmd.SetAction(r => Cli.Run(() =>
        {
            int k = r.GetValue(samples), topN = r.GetValue(top);
            if (k is < 1 or > 1000) throw new UserError($"--samples must be in 1…1000 (got {k})");
            if (topN < 0) throw new UserError($"--top must be ≥ 0 (got {topN})");
            var dev = compute.Resolve(r);
            var vae = AutoPipeline.OpenVae(r.GetValue(model)!, dev);
            var c = vae.Model.Config;
            var (data, names) = ImageData.LoadInputs(r.GetValue(images)!, c.ImageSize, c.InChannels);
            using (data)
            {
                AnomalyReport report;
                try { report = AnomalyScores.Score(vae, data, k, r.GetValue(seed), r.GetValue(anomalous)); }
                catch (ArgumentException e) when (e.Message.StartsWith("AUROC")) { throw new UserError($"{e.Message} among --images"); }
                var (scores, order, className, auroc, byClass) = (report.Scores, report.Ranking, report.AnomalousClass, report.Auroc, report.ByClass);
                var labels = data.Labels.data<long>().ToArray();
                string Class(int i) => data.ClassNames[(int)labels[i]];
                if (r.GetValue(csv) is { } path)
                {
                    var sb = new StringBuilder("name,class,negative_elbo_nats\n");
                    for (int i = 0; i < scores.Length; i++) sb.Append(CultureInfo.InvariantCulture, $"{Csv(names[i])},{Csv(Class(i))},{scores[i]:F4}\n");
                    AtomicFile.WriteAllText(path, sb.ToString());
                }
                if (r.GetValue(grid) is { } g && topN > 0)
                {
                    using var s = NewDisposeScope();
                    ImageGrid.Save(g, data.Batch([.. order.Take(topN).Select(i => (long)i)], CPU).X, columns: Math.Min(topN, 10), scale: 3);
                }
                if (r.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        images = scores.Length, samples = k, anomalous_class = className, auroc,
                        mean_score_by_class = byClass.ToDictionary(x => x.Class, x => x.MeanScore),
                        top = order.Take(topN).Select(i => new { name = names[i], @class = Class(i), score = scores[i] }),
                    }));
                    return 0;
                }
                if (byClass.Count > 1)
                {
                    var table = new Table().AddColumns("class", "images", "mean −ELBO (nats)");
                    foreach (var (name, count, mean) in byClass.OrderByDescending(x => x.MeanScore))
                        table.AddRow(Markup.Escape(name) + (name == className ? " [bold](anomalous)[/]" : ""), $"{count:N0}", $"{mean:F2}");
                    AnsiConsole.Write(table);
                }
                if (auroc is { } au) AnsiConsole.MarkupLineInterpolated($"AUROC for '{className}' as the anomaly: [bold]{au:F4}[/] ({scores.Length:N0} images, {k} z samples each)");
                foreach (var i in order.Take(topN)) Console.WriteLine($"{scores[i],10:F2}  {names[i]}  ({Class(i)})");
                return 0;
            }
        }));
        return cmd;
    }

    static string Csv(string v) => v.Contains(',') || v.Contains('"') ? $"\"{v.Replace("\"", "\"\"")}\"" : v;
}
