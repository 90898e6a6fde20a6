using GenSharp.Feedback;
using GenSharp.Server;
using GenSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using static TorchSharp.torch;

namespace GenSharp.Tests.Server;

/// <summary>A real server of its own on 127.0.0.1 (a free port) for a test that needs other options than the shared fixture's.</summary>
sealed class TestServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly FeedbackStore _feedback;
    readonly string _db;

    TestServer(WebApplication app, ModelRegistry models, FeedbackStore feedback, string db) =>
        (_app, Models, _feedback, _db, Http) = (app, models, feedback, db, new HttpClient { BaseAddress = new Uri(GenSharpServer.Address(app)), Timeout = TimeSpan.FromMinutes(3) });

    public ModelRegistry Models { get; }
    public HttpClient Http { get; }
    public string Address => Http.BaseAddress!.ToString().TrimEnd('/');
    /// <summary>The SQLite file the playground's ratings and picks go to.</summary>
    public string FeedbackDb => _db;

    public static async Task<TestServer> StartAsync(ServerOptions options, IReadOnlyList<(string Name, string Dir)>? adapters = null, RagService? documents = null)
    {
        var models = new ModelRegistry(options.Models, CPU, options.MaxBatch, options.MaxQueue, adapters, streamInterval: TimeSpan.FromMilliseconds(options.StreamIntervalMs));
        var db = Path.Combine(Path.GetTempPath(), $"gensharp-{Guid.NewGuid():N}.db");
        var feedback = new FeedbackStore(db);
        var app = GenSharpServer.Build(options with { Port = 0 }, models, feedback, documents);
        await app.StartAsync();
        return new TestServer(app, models, feedback, db);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.DisposeAsync();
        Models.Dispose();
        _feedback.Dispose();
        foreach (var f in Directory.GetFiles(Path.GetDirectoryName(_db)!, Path.GetFileName(_db) + "*")) File.Delete(f);
    }
}
