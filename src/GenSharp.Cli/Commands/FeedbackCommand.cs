using System.CommandLine;
using GenSharp.Feedback;
using GenSharp.IO;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp feedback export</c>: the playground's ratings and A/B picks as TRL preference data.</summary>
static class FeedbackCommand
{
    public static Command Create()
    {
        var db = Cli.Opt("--db", "Feedback store written by gensharp serve: a SQLite file or a postgres:// URL", "feedback.db");
        var format = Cli.Opt("--format", "dpo (prompt, chosen, rejected: TRL's DPOTrainer) or kto (prompt, completion, label: KTOTrainer)", "dpo");
        var output = Cli.Opt<string?>("--out", "JSONL file to write (default: standard output)");
        var export = new Command("export", "Write preference data as JSONL (conversational format)") { db, format, output };
        export.SetAction(r => Cli.Run(() =>
        {
            var path = r.GetValue(db)!;
            if (!GenSharp.IO.PostgresUrl.Is(path) && !File.Exists(path)) throw new UserError($"{path}: no feedback database (gensharp serve writes one; see --feedback-db)");
            using var store = new FeedbackStore(path);
            var lines = r.GetValue(format) switch
            {
                "dpo" => store.ExportDpo().ToList(),
                "kto" => store.ExportKto().ToList(),
                var other => throw new UserError($"--format '{other}' is not dpo or kto"),
            };
            var text = string.Concat(lines.Select(l => l + "\n"));
            if (r.GetValue(output) is { } file)
            {
                AtomicFile.WriteAllText(file, text);
                Console.Error.WriteLine($"wrote {lines.Count} {r.GetValue(format)} example(s) to {file}");
            }
            else Console.Write(text);
            return 0;
        }));
        return new Command("feedback", "Human feedback collected by the playground") { export };
    }
}
