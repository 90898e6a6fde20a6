using System.Diagnostics;
using System.Text;
using GenSharp.Feedback;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Server;
using GenSharp.Server.Hosting;
using static TorchSharp.torch;

namespace GenSharp.Bench;

/// <summary>
/// The HTTP server under concurrent streaming clients (real sockets on 127.0.0.1): aggregate tokens/s at 1, 4 and
/// 16 concurrent streams, time to first token p50/p95, and the overhead against the library decoding the same
/// batch in-process (TextGenerationPipeline.GenerateBatch), measured alternately in one process.
/// </summary>
static class ServeBench
{
    public static async Task<int> Run(string[] args)
    {
        GenSharp.Numerics.CpuThreads.YieldWhenShared();   // as `gensharp serve` runs: libtorch's threads yield soon (before TorchSharp loads)
        int tokens = Arg(args, "--tokens", 64), rounds = Arg(args, "--rounds", 3);
        // --decode libtorch: both the server and the library decode with libtorch ops (issue 15's "before").
        var kernels = new DecodeKernelOptions { Enabled = !(args.SkipWhile(a => a != "--decode").Skip(1).FirstOrDefault() is "libtorch") };
        var dir = Path.Combine(TrainBench.RepoRoot(), "models", "shakespeare-char");
        var db = Path.Combine(Path.GetTempPath(), $"gensharp-bench-{Environment.ProcessId}.db");
        var options = new ServerOptions { Models = [dir], Port = 0, MaxBatch = 16, MaxQueue = 256 };
        using var models = new ModelRegistry(options.Models, CPU, options.MaxBatch, options.MaxQueue, kernels: kernels);
        using var feedback = new FeedbackStore(db);
        await using var app = GenSharpServer.Build(options, models, feedback);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(GenSharpServer.Address(app)), Timeout = TimeSpan.FromMinutes(5) };
        var (lm, tok) = ModelDirectory.Load(dir);
        var library = new TextGenerationPipeline(lm, tok, kernels: kernels);
        Console.WriteLine($"{dir}: decoded by {models.LanguageModels.First().DecodeBackend}; {tokens} new tokens per request from \"ROMEO:\", streamed (/v1/completions); {rounds} rounds per client; threads {get_num_threads()}");
        await Stream(http, 0, tokens);   // warm-up
        foreach (int c in new[] { 1, 4, 16 })
        {
            var ttfts = new List<double>();
            double serverTps = 0, libraryTps = 0;
            for (int r = 0; r < rounds; r++)   // alternate server and library rounds so both see the same machine load
            {
                var sw = Stopwatch.StartNew();
                var results = await Task.WhenAll(Enumerable.Range(0, c).Select(i => Stream(http, r * 100 + i, tokens)));
                serverTps += results.Sum(x => x.Tokens) / sw.Elapsed.TotalSeconds / rounds;
                ttfts.AddRange(results.Select(x => x.Ttft));
                sw.Restart();
                var batch = library.GenerateBatch([.. Enumerable.Repeat("ROMEO:", c)], new GenerationOptions { MaxTokens = tokens, Temperature = 1, Seed = r, IgnoreEos = true });
                libraryTps += batch.Sum(b => b.Usage.CompletionTokens) / sw.Elapsed.TotalSeconds / rounds;
            }
            ttfts.Sort();
            Console.WriteLine($"{c,2} concurrent streams: server {serverTps:F0} tokens/s, library {libraryTps:F0} tokens/s (server overhead {1 - serverTps / libraryTps:P1}); " +
                              $"time to first token p50 {ttfts[ttfts.Count / 2]:F1} ms, p95 {ttfts[(int)Math.Ceiling(0.95 * ttfts.Count) - 1]:F1} ms ({ttfts.Count} requests)");
        }
        File.Delete(db);
        return 0;
    }

    static async Task<(int Tokens, double Ttft)> Stream(HttpClient http, int seed, int tokens)
    {
        var body = $$"""{"model":"shakespeare-char","prompt":"ROMEO:","max_tokens":{{tokens}},"temperature":1,"seed":{{seed}},"stream":true}""";
        var sw = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        double ttft = 0;
        int count = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal) || line.Contains("\"text\":\"\"")) continue;
            if (count++ == 0) ttft = sw.Elapsed.TotalMilliseconds;
        }
        return (count, ttft);
    }

    static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
    }
}
