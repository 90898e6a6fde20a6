namespace GenSharp.Server;

/// <summary>How <c>gensharp serve</c> runs.</summary>
public sealed record ServerOptions
{
    public IReadOnlyList<string> Models { get; init; } = [];      // model directories; the name is the directory's name
    public string Host { get; init; } = "127.0.0.1";              // loopback only unless asked
    public int Port { get; init; } = 8080;                        // 0 = any free port
    public string? ApiKey { get; init; }                          // set: /v1 needs "Authorization: Bearer KEY"
    public IReadOnlyList<string> AllowedHosts { get; init; } = []; // extra Host header names (reverse proxies, LAN names)
    public int MaxBatch { get; init; } = 16;                      // sequences decoded together per language model
    public int MaxQueue { get; init; } = 64;                      // requests waiting per model before 429
    public long MaxBodyBytes { get; init; } = 1 << 20;            // larger bodies get 413
    public string Device { get; init; } = "cpu";
    public int StreamIntervalMs { get; init; } = (int)Hosting.LanguageModelWorker.DefaultStreamInterval.TotalMilliseconds;              // streamed tokens handed over together at most this often (0: each at once)
    public string FeedbackDb { get; init; } = "feedback.db";      // playground ratings and A/B picks: SQLite file or postgres:// URL

    public ServerOptions Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"port must be in 0…65535 (got {Port})");
        if (MaxBatch is < 1 or > 256) throw new ArgumentException($"max batch must be in 1…256 (got {MaxBatch})");
        if (MaxQueue is < 1 or > 100_000) throw new ArgumentException($"max queue must be in 1…100000 (got {MaxQueue})");
        if (StreamIntervalMs is < 0 or > 1000) throw new ArgumentException($"stream interval must be in 0…1000 ms (got {StreamIntervalMs})");
        if (MaxBodyBytes < 1024) throw new ArgumentException("max body size must be at least 1024 bytes");
        if (ApiKey is { Length: 0 }) throw new ArgumentException("the API key is empty");
        return this;
    }
}
