using System.CommandLine;
using GenSharp.Feedback;
using GenSharp.Rag.Index;
using GenSharp.Server;
using GenSharp.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp serve</c>: the OpenAI-compatible HTTP server over one or more model directories.</summary>
static class ServeCommand
{
    public static Command Create()
    {
        var d = new ServerOptions();
        var models = new Option<string[]>("--models")
        {
            Description = "Model directories to serve (language and image models); the model name is the directory name. Default: the bundled models",
            AllowMultipleArgumentsPerToken = true,
        };
        var host = Cli.Opt("--host", "Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface)", d.Host);
        var port = Cli.Opt("--port", "Port (0: any free port)", d.Port);
        var apiKey = Cli.Opt<string?>("--api-key", "Require Authorization: Bearer KEY on /v1 (default: $GENSHARP_API_KEY, else none)");
        var allowedHosts = new Option<string[]>("--allowed-host") { Description = "Extra Host header names to accept (e.g. a LAN name)", AllowMultipleArgumentsPerToken = true };
        var maxBatch = Cli.Opt("--max-batch", "Sequences decoded together per language model", d.MaxBatch);
        var maxQueue = Cli.Opt("--max-queue", "Requests waiting per model before 429", d.MaxQueue);
        var streamInterval = Cli.Opt("--stream-interval", "Milliseconds a streamed request's tokens may wait to go out together (first and last go at once; 0: every token at once)", d.StreamIntervalMs);
        var feedback = Cli.Opt("--feedback-db", "Where the playground's ratings and A/B picks go: a SQLite file, or a postgres:// URL that several servers share", d.FeedbackDb);
        var adapters = new Option<string[]>("--adapter")
        {
            Description = "Serve a LoRA adapter as its own model id: NAME=DIR (repeatable); it shares its base model's weights and batches",
            AllowMultipleArgumentsPerToken = false,
        };
        var ragIndex = Cli.Opt<string?>("--rag-index", "Answer from the documents of this index (gensharp rag ingest): POST /v1/rag/answers and the playground's \"Answer from documents\"");
        var ragStore = Cli.Opt<string?>("--rag-store", "The same from a PostgreSQL store (postgres://…)");
        var ragCollection = Cli.Opt("--rag-collection", "The collection served", "default");
        var ragTenant = Cli.Opt("--rag-tenant", "The tenant served (requests cannot choose another)", "");
        var compute = new ComputeFlags();
        var decode = new DecodeFlags();
        var cmd = new Command("serve", "Serve models over an OpenAI-compatible HTTP API, with a web playground at /")
        {
            models, host, port, apiKey, allowedHosts, maxBatch, maxQueue, streamInterval, feedback, adapters, ragIndex, ragStore, ragCollection, ragTenant,
            compute.Device, compute.Threads, decode.Quantize, decode.Decode,
        };
        cmd.SetAction(r => Cli.Run(() =>
        {
            var options = new ServerOptions
            {
                Models = r.GetValue(models) is { Length: > 0 } m ? m : [Cli.FindShipped("models/shakespeare-char"), Cli.FindShipped(ImageCommands.BundledDiffusion)],
                Host = r.GetValue(host)!, Port = r.GetValue(port), ApiKey = r.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("GENSHARP_API_KEY"),
                AllowedHosts = r.GetValue(allowedHosts) ?? [], MaxBatch = r.GetValue(maxBatch), MaxQueue = r.GetValue(maxQueue), Device = r.GetValue(compute.Device)!,
                FeedbackDb = r.GetValue(feedback)!, StreamIntervalMs = r.GetValue(streamInterval),
            }.Validate();
            var served = (r.GetValue(adapters) ?? []).Select(a => a.Split('=', 2) is [var name, var dir] && name.Length > 0 && dir.Length > 0
                ? (name, dir) : throw new UserError($"--adapter '{a}' is not NAME=DIR")).ToList();
            var kernels = decode.Read(r);
            using var registry = new ModelRegistry(options.Models, compute.Resolve(r), options.MaxBatch, options.MaxQueue, served, kernels,
                TimeSpan.FromMilliseconds(options.StreamIntervalMs));
            using var store = new FeedbackStore(options.FeedbackDb);
            using var documents = OpenDocuments(r.GetValue(ragIndex), r.GetValue(ragStore), r.GetValue(ragCollection)!, r.GetValue(ragTenant)!);
            var app = GenSharpServer.Build(options, registry, store, documents);
            app.Start();
            var address = GenSharpServer.Address(app);
            foreach (var w in registry.LanguageModels) AnsiConsole.MarkupLineInterpolated($"  [bold]{w.Name}[/]: language model, context {w.Context}, {w.Capacity} sequences per batch, decoded by {w.DecodeBackend}");
            foreach (var a in registry.Adapters) AnsiConsole.MarkupLineInterpolated($"  [bold]{a.Name}[/]: LoRA adapter of {a.Base}, decoded in its batches");
            foreach (var i in registry.ImageModels) AnsiConsole.MarkupLineInterpolated($"  [bold]{i.Name}[/]: image model ({i.Generator.Description})");
            if (documents is not null)
            {
                var (files, chunks) = documents.Store.Count(documents.Collection, documents.Tenant);
                AnsiConsole.MarkupLineInterpolated($"  documents: {documents.Store.Location} ({files:N0} files, {chunks:N0} chunks; {documents.DefaultMode.ToString().ToLowerInvariant()} search)");
            }
            AnsiConsole.MarkupLineInterpolated($"feedback goes to [bold]{store.Path}[/] (export: gensharp feedback export --db {options.FeedbackDb})");
            AnsiConsole.MarkupLineInterpolated($"playground on [bold]{address}/[/], OpenAI API under [bold]{address}/v1[/] ({(options.ApiKey is null ? "no API key" : "API key required")}); Ctrl-C stops");
            var cancel = Cli.CancelOnSignals();
            app.WaitForShutdownAsync(cancel).GetAwaiter().GetResult();
            app.StopAsync().GetAwaiter().GetResult();
            return 0;
        }));
        return cmd;
    }

    // The served documents with the embedder their vectors were made with (the one the index records).
    static RagService? OpenDocuments(string? dir, string? url, string collection, string tenant)
    {
        if (dir is null && url is null) return null;
        var store = StoreFlags.Open(dir, url, "--rag-index", "--rag-store");
        try
        {
            if (store is RagIndex sqlite) sqlite.LoadPostings();   // BM25 in milliseconds from the first request
            return new RagService(store, EmbedderFlags.Recorded(store), collection, tenant);
        }
        catch { store.Dispose(); throw; }
    }
}
