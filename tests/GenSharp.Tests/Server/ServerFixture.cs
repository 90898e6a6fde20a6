using GenSharp.Feedback;
using GenSharp.Server;
using GenSharp.Server.Hosting;
using GenSharp.Tests.Cli;
using Microsoft.AspNetCore.Builder;
using static TorchSharp.torch;

namespace GenSharp.Tests.Server;

/// <summary>A real server on 127.0.0.1 (a free port) over the bundled language and diffusion models, shared by a test class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string Lm = "shakespeare-char", Images = "fmnist-diffusion";
    WebApplication? _app;

    readonly string _dir = Directory.CreateTempSubdirectory("gensharp-server-").FullName;

    public ModelRegistry Models { get; private set; } = null!;
    public FeedbackStore Feedback { get; private set; } = null!;
    public string Address { get; private set; } = "";
    public Uri V1 => new(Address + "/v1");
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };

    public async Task InitializeAsync()
    {
        var options = new ServerOptions { Models = [CliRunner.Bundled(Lm), CliRunner.Bundled(Images)], Port = 0, MaxBatch = 8, MaxQueue = 64 };
        Models = new ModelRegistry(options.Models, CPU, options.MaxBatch, options.MaxQueue, streamInterval: TimeSpan.FromMilliseconds(options.StreamIntervalMs));
        Feedback = new FeedbackStore(Path.Combine(_dir, "feedback.db"));
        _app = GenSharpServer.Build(options, Models, Feedback);
        await _app.StartAsync();
        Address = GenSharpServer.Address(_app);
        Http.BaseAddress = new Uri(Address);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        Models.Dispose();
        Feedback.Dispose();
        Http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
