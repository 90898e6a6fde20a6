using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Rag.Chunking;
using GenSharp.Rag.Evaluation;
using GenSharp.Rag.Index;
using GenSharp.Rag.Ingest;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp rag ingest</c> and <c>gensharp rag search</c>: documents into an embedded index, and BM25 search over it.</summary>
static class RagCommand
{
    public static Command Create() => new("rag", "Retrieval over your documents: ingest files into an index, search it, measure it") { Ingest(), Search(), Eval() };

    static Option<string> IndexOption() => new("--index") { Description = "The index directory (created if missing; the SQLite file index.db)", Required = true };
    static Option<string> Collection() => Cli.Opt("--collection", "A named set of documents inside the index", "default");
    static Option<string> Tenant() => Cli.Opt("--tenant", "Whose documents (searches of one tenant never see another's)", "");

    static Command Ingest()
    {
        var paths = new Argument<string[]>("PATH") { Description = "Files or directories (.md, .txt, man pages: name.1, name.8.gz, …)", Arity = ArgumentArity.OneOrMore };
        var index = IndexOption();
        var collection = Collection();
        var tenant = Tenant();
        var maxMb = Cli.Opt("--max-file-mb", "Skip files larger than this", 20.0);
        var tokens = Cli.Opt("--chunk-tokens", "Largest chunk, in words", 200);
        var overlap = Cli.Opt("--overlap", "Words repeated between the pieces of a long section", 40);
        var depth = Cli.Opt("--max-depth", "Directory levels read below each PATH", 32);
        var cmd = new Command("ingest", "Add files to the index; unchanged files are skipped, changed ones replaced, deleted ones removed")
        {
            paths, index, collection, tenant, maxMb, tokens, overlap, depth,
        };
        cmd.SetAction(r => Cli.Run(() =>
        {
            var options = new IngestOptions
            {
                Collection = r.GetValue(collection)!, Tenant = r.GetValue(tenant)!, MaxFileBytes = (long)(r.GetValue(maxMb) * (1 << 20)),
                MaxDepth = r.GetValue(depth), Chunking = new ChunkOptions { MaxTokens = r.GetValue(tokens), OverlapTokens = r.GetValue(overlap) },
            }.Validate();
            using var idx = RagIndex.Open(r.GetValue(index)!);
            var cancel = Cli.CancelOnSignals();
            IngestSummary summary = null!;
            if (Console.IsErrorRedirected)
                summary = Ingestor.Ingest(idx, r.GetValue(paths)!, options, cancel: cancel);
            else
                AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("reading files");
                        summary = Ingestor.Ingest(idx, r.GetValue(paths)!, options, (done, total, _) => { task.MaxValue = Math.Max(1, total); task.Value = done; }, cancel: cancel);
                    });
            var (files, chunks) = idx.Count(options.Collection, options.Tenant);
            Console.WriteLine($"{summary.Added} added, {summary.Updated} updated, {summary.Unchanged} unchanged, {summary.Removed} removed, " +
                $"{summary.Skipped.Count} skipped; {summary.ChunksWritten:N0} chunks written in {summary.Elapsed.TotalSeconds:F1} s; " +
                $"the index holds {files:N0} files, {chunks:N0} chunks ({options.Collection}{(options.Tenant.Length > 0 ? $", tenant {options.Tenant}" : "")})");
            foreach (var (path, reason) in summary.Skipped) Console.WriteLine($"skipped {path}: {reason}");
            if (summary.Unsupported.Count > 0)
                Console.WriteLine($"not read (no loader for the type): {string.Join(", ", summary.Unsupported.Select(u => $"{u.Key} ×{u.Value}"))}");
            return 0;
        }));
        return cmd;
    }

    static Command Eval()
    {
        var index = IndexOption();
        var queries = new Option<string>("--queries") { Description = "JSONL rows {\"query\": \"…\", \"relevant\": [\"source path\", …]}", Required = true };
        var collection = Collection();
        var tenant = Tenant();
        var k = Cli.Opt("--k", "Recall is counted in the first k distinct sources", 10);
        var cmd = new Command("eval", "Retrieval quality on queries with known answers: recall@1, recall@k, MRR, nDCG@10, latency") { index, queries, collection, tenant, k };
        cmd.SetAction(r => Cli.Run(() =>
        {
            var dir = r.GetValue(index)!;
            if (!File.Exists(Path.Combine(dir, RagIndex.FileName))) throw new UserError($"{dir}: no index (gensharp rag ingest PATH --index {dir} makes one)");
            var rows = RetrievalEvaluator.ReadQueries(r.GetValue(queries)!);
            using var idx = RagIndex.Open(dir);
            var (c, t) = (r.GetValue(collection)!, r.GetValue(tenant)!);
            var report = RetrievalEvaluator.Evaluate("bm25", rows, (q, n) => idx.Search(q, n, c, t), r.GetValue(k));
            Console.WriteLine($"| method | queries | recall@1 | recall@{report.K} | MRR | nDCG@10 | p50 ms | p95 ms |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");
            Console.WriteLine($"| {report.Method} | {report.Queries:N0} | {report.RecallAt1:P1} | {report.RecallAtK:P1} | {report.Mrr:F3} | {report.NdcgAt10:F3} | {report.LatencyP50Ms:F1} | {report.LatencyP95Ms:F1} |");
            return 0;
        }));
        return cmd;
    }

    static Command Search()
    {
        var query = new Argument<string>("QUERY") { Description = "What to look for, in words" };
        var index = IndexOption();
        var collection = Collection();
        var tenant = Tenant();
        var k = Cli.Opt("--k", "How many chunks to return", 5);
        var json = Cli.Opt("--json", "One JSON object a line: id, source, heading, page, offset, score, text", false);
        var cmd = new Command("search", "BM25 search of an index") { query, index, collection, tenant, k, json };
        cmd.SetAction(r => Cli.Run(() =>
        {
            var dir = r.GetValue(index)!;
            if (!File.Exists(Path.Combine(dir, RagIndex.FileName))) throw new UserError($"{dir}: no index (gensharp rag ingest PATH --index {dir} makes one)");
            using var idx = RagIndex.Open(dir);
            var hits = idx.Search(r.GetValue(query)!, r.GetValue(k), r.GetValue(collection)!, r.GetValue(tenant)!);
            foreach (var (h, i) in hits.Select((h, i) => (h, i)))
            {
                if (r.GetValue(json))
                {
                    Console.WriteLine(new JsonObject
                    {
                        ["id"] = h.ChunkId, ["source"] = h.Source, ["heading"] = h.Heading, ["page"] = h.Page, ["offset"] = h.Offset,
                        ["score"] = Math.Round(h.Score, 6), ["text"] = h.Text,
                    }.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
                    continue;
                }
                AnsiConsole.Write(new Rule($"[{i + 1}] {Markup.Escape(h.Source)}{(h.Heading.Length > 0 ? " · " + Markup.Escape(h.Heading) : "")} · score {h.Score:F3}").LeftJustified());
                Console.WriteLine(h.Text.Length > 600 ? h.Text[..600] + " …" : h.Text);
            }
            if (hits.Count == 0) Console.Error.WriteLine("no matches");
            return 0;
        }));
        return cmd;
    }
}
