using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Rag.Answering;
using GenSharp.Rag.Chunking;
using GenSharp.Rag.Evaluation;
using GenSharp.Rag.Index;
using GenSharp.Rag.Ingest;
using GenSharp.Rag.Retrieval;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp rag ingest | embed | search | ask | eval</c>: documents into an embedded index, BM25, dense and hybrid search over it, cited answers, measurements.</summary>
static class RagCommand
{
    public static Command Create() => new("rag", "Retrieval over your documents: ingest files into an index, search it, measure it") { Ingest(), Embed(), Search(), Ask(), Eval() };

    // A progress bar on a terminal; nothing when stderr is redirected (scripts, tests).
    internal static T WithProgress<T>(string label, Func<Action<int, int>?, T> run)
    {
        if (Console.IsErrorRedirected) return run(null);
        T result = default!;
        AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(label);
                result = run((done, total) => { task.MaxValue = Math.Max(1, total); task.Value = done; });
            });
        return result;
    }

    static Command Embed()
    {
        var store = new StoreFlags();
        var embedder = new EmbedderFlags();
        var lists = Cli.Opt<int?>("--ivf-lists", $"Build an approximate (IVF) index with this many lists (0: none; default: 4√n once the index holds {VectorStore.AnnThreshold:N0} vectors)");
        var cmd = new Command("embed", "Give every chunk a vector (dense and hybrid search); a new embedder replaces the old vectors") { lists };
        foreach (var o in embedder.Options.Concat(store.Options)) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            using var idx = store.Open(r);
            var e = embedder.Resolve(r, idx) ?? throw new UserError("pass --embedder DIR (gensharp train embedder) or --embedding-endpoint URL --embedding-model NAME");
            var cancel = Cli.CancelOnSignals();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var done = WithProgress("embedding chunks", progress => idx.EmbedAll(e, r.GetValue(lists), progress, cancel));
            var (vectors, ivfLists) = idx.VectorCount();
            Console.WriteLine($"{done.Embedded:N0} chunks embedded by {e.Id} in {sw.Elapsed.TotalSeconds:F1} s; the index holds {vectors:N0} vectors" +
                (done.Lists > 0 ? $", in an IVF index of {done.Lists:N0} lists (search with --nprobe N)" : ivfLists > 0 ? $" in {ivfLists:N0} IVF lists" : ""));
            return 0;
        }));
        return cmd;
    }


    static Command Ingest()
    {
        var paths = new Argument<string[]>("PATH") { Description = "Files or directories (.md, .txt, man pages: name.1, name.8.gz, …)", Arity = ArgumentArity.OneOrMore };
        var store = new StoreFlags();
        var collection = SearchFlags.CollectionOption();
        var tenant = SearchFlags.TenantOption();
        var maxMb = Cli.Opt("--max-file-mb", "Skip files larger than this", 20.0);
        var tokens = Cli.Opt("--chunk-tokens", "Largest chunk, in words", 200);
        var overlap = Cli.Opt("--overlap", "Words repeated between the pieces of a long section", 40);
        var depth = Cli.Opt("--max-depth", "Directory levels read below each PATH", 32);
        var embedder = new EmbedderFlags();
        var cmd = new Command("ingest", "Add files to the index; unchanged files are skipped, changed ones replaced, deleted ones removed")
        {
            paths, collection, tenant, maxMb, tokens, overlap, depth,
        };
        foreach (var o in embedder.Options.Concat(store.Options)) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            var options = new IngestOptions
            {
                Collection = r.GetValue(collection)!, Tenant = r.GetValue(tenant)!, MaxFileBytes = (long)(r.GetValue(maxMb) * (1 << 20)),
                MaxDepth = r.GetValue(depth), Chunking = new ChunkOptions { MaxTokens = r.GetValue(tokens), OverlapTokens = r.GetValue(overlap) },
            }.Validate();
            using var idx = store.Open(r, create: true);
            var e = embedder.Resolve(r, idx);   // an index with vectors embeds its new chunks with its own embedder
            var cancel = Cli.CancelOnSignals();
            var summary = WithProgress("reading files", progress =>
                Ingestor.Ingest(idx, r.GetValue(paths)!, options, progress is null ? null : (done, total, _) => progress(done, total), cancel: cancel, embedder: e));
            var (files, chunks) = idx.Count(options.Collection, options.Tenant);
            Console.WriteLine($"{summary.Added} added, {summary.Updated} updated, {summary.Unchanged} unchanged, {summary.Removed} removed, " +
                $"{summary.Skipped.Count} skipped; {summary.ChunksWritten:N0} chunks written{(e is null ? "" : $" ({summary.Embedded:N0} embedded)")} in {summary.Elapsed.TotalSeconds:F1} s; " +
                $"the index holds {files:N0} files, {chunks:N0} chunks ({options.Collection}{(options.Tenant.Length > 0 ? $", tenant {options.Tenant}" : "")})");
            foreach (var (path, reason) in summary.Skipped) Console.WriteLine($"skipped {path}: {reason}");
            if (summary.Unsupported.Count > 0)
                Console.WriteLine($"not read (no loader for the type): {string.Join(", ", summary.Unsupported.Select(u => $"{u.Key} ×{u.Value}"))}");
            return 0;
        }));
        return cmd;
    }

    static Command Ask()
    {
        var question = new Argument<string>("QUESTION") { Description = "What to ask of your documents" };
        var search = new SearchFlags("How sources are found: bm25, dense or hybrid (default: hybrid when the index has vectors)");
        var k = Cli.Opt("--k", "Chunks retrieved as numbered sources", 5);
        var model = Cli.Opt<string?>("--model", "Answer with this GenSharp model, in-process");
        var endpoint = Cli.Opt<string?>("--endpoint", "Answer with an OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1; key in OPENAI_API_KEY)");
        var apiModel = Cli.Opt<string?>("--api-model", "The model name on --endpoint");
        var maxTokens = Cli.Opt("--max-tokens", "Longest answer", 256);
        var cmd = new Command("ask", "Answer from your documents with [n] citations checked against the sources given; without a model, the best-supported sentences, cited")
        {
            question, k, model, endpoint, apiModel, maxTokens,
        };
        foreach (var o in search.Options) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            if (r.GetValue(model) is not null && r.GetValue(endpoint) is not null) throw new UserError("pass --model or --endpoint, not both");
            if (r.GetValue(endpoint) is not null && r.GetValue(apiModel) is null) throw new UserError("--endpoint needs --api-model (the model's name on that server)");
            var (idx, e) = search.Open(r);
            using var _ = idx;
            var how = search.ModeOf(r, e);
            var retriever = search.Retriever(r, idx, e, how);
            Microsoft.Extensions.AI.IChatClient? chat = null;
            if (r.GetValue(model) is { } m)
                chat = new GenSharp.Extensions.AI.GenSharpChatClient(GenSharp.Pipelines.AutoPipeline.OpenChat(m), Path.GetFileName(Path.GetFullPath(m).TrimEnd('/')));
            else if (r.GetValue(endpoint) is { } url)
                chat = Microsoft.Extensions.AI.OpenAIClientExtensions.AsIChatClient(new OpenAI.Chat.ChatClient(r.GetValue(apiModel)!,
                    new System.ClientModel.ApiKeyCredential(Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "none"),
                    new OpenAI.OpenAIClientOptions { Endpoint = new Uri(url) }));
            GroundedAnswer answer;
            try
            {
                answer = RagAnswerer.AskAsync(retriever, how, r.GetValue(question)!, chat, r.GetValue(k), r.GetValue(search.Collection)!, r.GetValue(search.Tenant)!,
                    new Microsoft.Extensions.AI.ChatOptions { MaxOutputTokens = r.GetValue(maxTokens) }, Cli.CancelOnSignals()).GetAwaiter().GetResult();
            }
            catch (UngroundedAnswerException refused)
            {
                Console.Error.WriteLine($"error: refused: {refused.Message}. The answer was:\n{refused.Answer}");
                return 1;
            }
            if (answer.Sources.Count == 0) { Console.Error.WriteLine("no matching documents: nothing to answer from"); return 1; }
            Console.WriteLine(answer.Text.Length > 0 ? answer.Text : "(no sentence of the sources shares the question's words)");
            if (answer.Mode == "generated" && answer.Citations.Cited.Count == 0) Console.Error.WriteLine("warning: the answer cites no source");
            Console.WriteLine();
            for (int i = 0; i < answer.Sources.Count; i++)
            {
                var s = answer.Sources[i];
                Console.WriteLine($"[{i + 1}] {s.Source}{(s.Heading.Length > 0 ? " · " + s.Heading : "")}{(s.Page is { } p ? $" · page {p}" : "")}{(answer.Citations.Cited.Contains(i + 1) ? "" : " (not cited)")}");
            }
            return 0;
        }));
        return cmd;
    }

    static Command Eval()
    {
        var search = new SearchFlags("bm25, dense or hybrid (default: each the index supports)");
        var queries = new Option<string>("--queries") { Description = "JSONL rows {\"query\": \"…\", \"relevant\": [\"source path\", …]}", Required = true };
        var k = Cli.Opt("--k", "Recall is counted in the first k distinct sources", 10);
        var cmd = new Command("eval", "Retrieval quality on queries with known answers: recall@1, recall@k, MRR, nDCG@10, latency") { queries, k };
        foreach (var o in search.Options) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            var rows = RetrievalEvaluator.ReadQueries(r.GetValue(queries)!);
            var (idx, e) = search.Open(r);
            using var _ = idx;
            var (c, t) = (r.GetValue(search.Collection)!, r.GetValue(search.Tenant)!);
            SearchMode[] modes = r.GetValue(search.Mode) is not null ? [search.ModeOf(r, e)] : e is null ? [SearchMode.Bm25] : [SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid];
            Console.WriteLine($"| method | queries | recall@1 | recall@{r.GetValue(k)} | MRR | nDCG@10 | p50 ms | p95 ms |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");
            foreach (var m in modes)
            {
                var retriever = search.Retriever(r, idx, e, m);
                var report = RetrievalEvaluator.Evaluate(m.ToString().ToLowerInvariant(), rows, (q, n) => retriever.Search(q, n, m, c, t), r.GetValue(k));
                Console.WriteLine($"| {report.Method} | {report.Queries:N0} | {report.RecallAt1:P1} | {report.RecallAtK:P1} | {report.Mrr:F3} | {report.NdcgAt10:F3} | {report.LatencyP50Ms:F1} | {report.LatencyP95Ms:F1} |");
            }
            return 0;
        }));
        return cmd;
    }

    static Command Search()
    {
        var query = new Argument<string>("QUERY") { Description = "What to look for, in words" };
        var search = new SearchFlags("bm25, dense or hybrid (default: hybrid when the index has vectors)");
        var k = Cli.Opt("--k", "How many chunks to return", 5);
        var json = Cli.Opt("--json", "One JSON object a line: id, source, heading, page, offset, score, text", false);
        var cmd = new Command("search", "Search an index by words (BM25), meaning (dense vectors) or both (hybrid)") { query, k, json };
        foreach (var o in search.Options) cmd.Options.Add(o);
        cmd.SetAction(r => Cli.Run(() =>
        {
            var (idx, e) = search.Open(r);
            using var _ = idx;
            var how = search.ModeOf(r, e);
            var hits = search.Retriever(r, idx, e, how).Search(r.GetValue(query)!, r.GetValue(k), how, r.GetValue(search.Collection)!, r.GetValue(search.Tenant)!);
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
