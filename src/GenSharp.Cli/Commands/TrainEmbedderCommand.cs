using System.CommandLine;
using System.Text.Json;
using GenSharp.IO;
using GenSharp.Models;
using GenSharp.Rag.Index;
using GenSharp.Rag.Retrieval;
using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp train embedder</c>: a retrieval encoder trained by the inverse cloze task on an index's chunks or a passages file.</summary>
static class TrainEmbedderCommand
{
    public const string PassagesFile = "passages.jsonl";

    public static Command Create()
    {
        var d = new EmbedderOptions { Data = "" };
        var f = new TrainFlags(EmbedderTrainer.TaskKind, $"default {d.Steps}");
        var store = new StoreFlags();   // --index DIR or --store URL: the index whose chunks are the passages (copied into --out/passages.jsonl)
        var collection = Cli.Opt("--collection", "The index's collection to read", "default");
        var tenant = Cli.Opt("--tenant", "The index's tenant to read", "");
        var data = Cli.Opt<string?>("--data", "Passages as JSONL, {\"text\": \"…\"} per line (instead of --index)");
        var dims = Cli.Opt("--dims", "Embedding dimensions", d.Model.HiddenSize);
        var buckets = Cli.Opt("--buckets", "Hashed feature rows (words, bigrams, character n-grams share them)", d.Model.Buckets);
        var batch = Cli.Opt("--batch-size", "Pairs per step (each query's negatives are the batch's other passages)", d.BatchSize);
        var lr = Cli.Opt("--lr", "Peak learning rate", d.LearningRate);
        var temperature = Cli.Opt("--temperature", "InfoNCE temperature", d.Temperature);
        var dropout = Cli.Opt("--feature-dropout", "Share of a training text's hashed features dropped at each step (a regulariser)", d.FeatureDropout);
        var queryWords = Cli.Opt("--query-words", "Queries are random spans of 3 to N words of a passage's sentence (random cropping); 0 = whole sentences", d.QueryWords);
        var hard = Cli.Opt<bool>("--hard-negatives", "With --index/--store: give each chunk the best full-text hit from another file as a hard negative");
        var evalFraction = Cli.Opt("--eval-fraction", "Fraction of the passages held out for evaluation", d.EvalFraction);
        var evalInterval = Cli.Opt("--eval-interval", "Steps between evaluations and checkpoints", d.EvalInterval);
        var cmd = f.Command("embedder", "Train a retrieval encoder on your own documents without labels (inverse cloze task, in-batch negatives)",
            [.. store.Options, collection, tenant, data, dims, buckets, batch, lr, temperature, dropout, queryWords, hard, evalFraction, evalInterval]);
        cmd.SetAction(r => Cli.Run(() => f.Train(r, (dir, dev) =>
        {
            bool fromIndex = r.GetValue(store.Index) is not null || r.GetValue(store.Url) is not null;
            var source = (fromIndex, r.GetValue(data)) switch
            {
                (false, null) => throw new UserError("pass --index DIR or --store URL (an index's chunks), or --data FILE.jsonl (passages)"),
                (true, { }) => throw new UserError("pass an index or --data, not both"),
                (false, { } file) => r.GetValue(hard) ? throw new UserError("--hard-negatives mines an index: pass --index or --store (a --data file carries its own \"negatives\")") : file,
                (true, null) => Export(store, r, r.GetValue(collection)!, r.GetValue(tenant)!, r.GetValue(hard), dir),
            };
            double peak = r.GetValue(lr);
            var opt = d with
            {
                Data = Path.GetFullPath(source), Model = d.Model with { HiddenSize = r.GetValue(dims), Buckets = r.GetValue(buckets) },
                Steps = r.GetValue(f.Steps) ?? d.Steps, BatchSize = r.GetValue(batch), LearningRate = peak, MinLr = peak / 10,
                Temperature = r.GetValue(temperature), FeatureDropout = r.GetValue(dropout), QueryWords = r.GetValue(queryWords), EvalFraction = r.GetValue(evalFraction), EvalInterval = r.GetValue(evalInterval),
                Seed = r.GetValue(f.Seed) ?? d.Seed,
            };
            var loop = EmbedderTrainer.Create(dir, opt.Validate(), Cli.CommandLine(), dev);
            var passages = ((EmbedderTrainer)loop.Task).Data;
            AnsiConsole.MarkupLineInterpolated(
                $"passages: {passages.Train.Count:N0} training, {passages.Eval.Count:N0} held-out{(passages.Skipped > 0 ? $", {passages.Skipped} without two sentences skipped" : "")}");
            return loop;
        })));
        return cmd;
    }

    // The index's chunks as the run's own passages file, so a resumed run reads the same data after the index changes.
    static string Export(StoreFlags store, ParseResult r, string collection, string tenant, bool hardNegatives, string runDir)
    {
        using var idx = store.Open(r);
        TrainingLoop.BeginNew(runDir);   // refuses a directory that holds a run before its data is touched
        var passages = idx.Passages(collection, tenant).ToList();
        if (passages.Count == 0) throw new UserError($"{idx.Location}: collection '{collection}'{(tenant.Length > 0 ? $", tenant '{tenant}'" : "")} holds no chunks");
        var negatives = hardNegatives ? RagCommand.WithProgress("mining hard negatives", p => HardNegatives.Mine(idx, passages, collection, tenant, p)) : null;
        var path = Path.Combine(runDir, PassagesFile);
        AtomicFile.Write(path, stream =>
        {
            using var w = new StreamWriter(stream, leaveOpen: true);
            for (int i = 0; i < passages.Count; i++)
                w.WriteLine(negatives is null ? JsonSerializer.Serialize(new { text = passages[i].Text })
                    : JsonSerializer.Serialize(new { id = passages[i].RowId.ToString(), text = passages[i].Text, negatives = negatives[i] }));
        });
        AnsiConsole.MarkupLineInterpolated($"{passages.Count:N0} chunks of {idx.Location} copied to {path}{(negatives is null ? "" : $", {negatives.Count(n => n.Length > 0):N0} with a hard negative")}");
        return path;
    }
}
