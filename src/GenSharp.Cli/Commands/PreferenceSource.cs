using System.CommandLine;
using GenSharp.Feedback;
using GenSharp.IO;

namespace GenSharp.Cli.Commands;

/// <summary>
/// Where preference pairs come from, for the commands that learn from them: <c>--data FILE.jsonl</c> (TRL's formats) or
/// <c>--feedback DB</c> (the playground's store). A store's pairs are written into the run directory first, so the run
/// and any resume read exactly the pairs it started with, whatever the store gets later.
/// </summary>
sealed class PreferenceSource
{
    public const string FeedbackFile = "feedback-pairs.jsonl";

    public readonly Option<string?> Data = Cli.Opt<string?>("--data", "Preference pairs, JSONL: {\"prompt\",\"chosen\",\"rejected\"} as strings or message lists (TRL's formats)");
    public readonly Option<string?> Feedback = Cli.Opt<string?>("--feedback", "A feedback store written by gensharp serve (SQLite file or postgres:// URL): its A/B picks and 👍/👎 pairs");

    public Option[] Options => [Data, Feedback];

    /// <summary>The JSONL file to train on: --data as it is, or --feedback's pairs exported into <paramref name="outDir"/>.</summary>
    public string Resolve(ParseResult r, string outDir)
    {
        var (data, feedback) = (r.GetValue(Data), r.GetValue(Feedback));
        if (data is not null && feedback is not null) throw new UserError("pass --data or --feedback, not both");
        if (data is not null) return data;
        if (feedback is null) throw new UserError("--data or --feedback is required (or pass --resume to continue a run)");
        if (!GenSharp.IO.PostgresUrl.Is(feedback) && !File.Exists(feedback)) throw new UserError($"{feedback}: no feedback database (gensharp serve writes one; see --feedback-db)");
        using var store = new FeedbackStore(feedback);
        var pairs = store.ExportDpo().Distinct().ToList();
        if (pairs.Count == 0)
        {
            var rows = store.All();
            int up = rows.Count(x => (string)x["kind"]! == "rating" && (int)x["rating"]! > 0), down = rows.Count(x => (string)x["kind"]! == "rating" && (int)x["rating"]! < 0);
            throw new UserError($"{feedback}: no preference pairs — it holds {rows.Count(x => (string)x["kind"]! == "comparison")} A/B picks and {up} 👍 / {down} 👎; " +
                "a pair is an A/B pick, or a 👍 and a 👎 on two answers to the same conversation by the same model");
        }
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, FeedbackFile);
        AtomicFile.WriteAllText(path, string.Concat(pairs.Select(p => p + "\n")));
        Console.Error.WriteLine($"{pairs.Count} preference pair(s) from {feedback} → {path}");
        return path;
    }
}
