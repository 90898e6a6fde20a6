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
/// requests in-process on a GenerationEngine kept across rounds (as the server keeps its own), measured alternately in one process. The clients are curl
/// processes (out of process, as a user's client is; <c>--client http</c>: HttpClient in the bench's own process).
/// </summary>
static class ServeBench
{
    public static async Task<int> Run(string[] args)
    {
        int tokens = Arg(args, "--tokens", 64), rounds = Arg(args, "--rounds", 15);
        // --decode libtorch: both the server and the library decode with libtorch ops (issue 15's "before").
        int threads = Arg(args, "--threads", 0);   // the decode kernels' team (0: libtorch's thread count)
        var kernels = new DecodeKernelOptions { Enabled = !(args.SkipWhile(a => a != "--decode").Skip(1).FirstOrDefault() is "libtorch"), Threads = threads > 0 ? threads : null };
        var dir = Path.Combine(TrainBench.RepoRoot(), "models", "shakespeare-char");
        var db = Path.Combine(Path.GetTempPath(), $"gensharp-bench-{Environment.ProcessId}.db");
        var options = new ServerOptions { Models = [dir], Port = 0, MaxBatch = 16, MaxQueue = 256, StreamIntervalMs = Arg(args, "--stream-interval", new ServerOptions().StreamIntervalMs) };
        using var models = new ModelRegistry(options.Models, CPU, options.MaxBatch, options.MaxQueue, kernels: kernels, streamInterval: TimeSpan.FromMilliseconds(options.StreamIntervalMs));
        using var feedback = new FeedbackStore(db);
        await using var app = GenSharpServer.Build(options, models, feedback);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(GenSharpServer.Address(app)), Timeout = TimeSpan.FromMinutes(5) };
        var (lm, tok) = ModelDirectory.Load(dir);
        // The library as the server runs it: one engine kept across requests (a pipeline call would also time making one).
        using var library = new GenerationEngine(lm, tok, options.MaxBatch, ContextOverflow.Stop, kernels);
        var prompt = library.EncodePrompt("ROMEO:");
        bool curl = !(args.SkipWhile(a => a != "--client").Skip(1).FirstOrDefault() is "http");
        var url = GenSharpServer.Address(app).TrimEnd('/') + "/v1/completions";
        Func<int, int, Task<((int Tokens, double Ttft)[] Streams, double Seconds)>> round = curl
            ? (seed, c) => Curl(url, [.. Enumerable.Range(seed, c)], tokens)
            : async (seed, c) =>
            {
                var sw = Stopwatch.StartNew();
                var streams = await Task.WhenAll(Enumerable.Range(seed, c).Select(i => Stream(http, i, tokens)));
                return (streams, sw.Elapsed.TotalSeconds);
            };
        Console.WriteLine($"clients: {(curl ? "one curl process a round, its transfers in parallel (curl -Z); time = curl's longest transfer" : "HttpClient in this process")}");
        Console.WriteLine($"{dir}: decoded by {models.LanguageModels.First().DecodeBackend}; stream interval {options.StreamIntervalMs} ms; {tokens} new tokens per request from \"ROMEO:\", streamed (/v1/completions); {rounds} rounds per client; threads {get_num_threads()}");
        await round(0, 1);   // warm-up
        // A curl process's own start-up CPU (linking libcurl, TLS libraries), measured on a trivial request: the rounds
        // report curl's CPU without it, i.e. what it takes from the cores while the tokens stream.
        double startup = 0;
        if (curl)
        {
            double before = ChildCpuSeconds();
            for (int i = 0; i < 5; i++)
                using (var p = Process.Start(new ProcessStartInfo("curl", ["-s", "-o", "/dev/null", url.Replace("/v1/completions", "/health")]))!) await p.WaitForExitAsync();
            startup = (ChildCpuSeconds() - before) / 5;
        }
        foreach (int c in new[] { 1, 4, 16 })
        {
            var (ttfts, libraryTtfts) = (new List<double>(), new List<double>());
            var (serverRates, libraryRates) = (new List<double>(), new List<double>());
            double clientCpu = 0, roundSeconds = 0;
            for (int r = 0; r < rounds; r++)   // alternate server and library rounds so both see the same machine load
            {
                double children = ChildCpuSeconds();
                var (results, seconds) = await round(r * 100, c);
                (clientCpu, roundSeconds) = (clientCpu + Math.Max(0, ChildCpuSeconds() - children - startup), roundSeconds + seconds);
                serverRates.Add(results.Sum(x => x.Tokens) / seconds);
                ttfts.AddRange(results.Select(x => x.Ttft));
                var sw = Stopwatch.StartNew();
                var seqs = Enumerable.Range(0, c).SelectMany(i => library.Add(prompt, new GenerationOptions { MaxTokens = tokens, Temperature = 1, Seed = r * 100 + i, IgnoreEos = true })).ToList();
                library.Step();
                libraryTtfts.Add(sw.Elapsed.TotalMilliseconds);   // the prefill step: every request's first token
                while (library.HasWork) library.Step();
                libraryRates.Add(seqs.Sum(q => q.Tokens.Count) / sw.Elapsed.TotalSeconds);
            }
            ttfts.Sort();
            libraryTtfts.Sort();
            double serverTps = Median(serverRates), libraryTps = Median(libraryRates);   // medians: single rounds are noisy here
            Console.WriteLine($"{c,2} concurrent streams: server {serverTps:F0} tokens/s, library {libraryTps:F0} tokens/s (server overhead {1 - serverTps / libraryTps:P1}); " +
                              (curl ? $"curl's CPU while streaming {clientCpu / (roundSeconds * Environment.ProcessorCount):P0} of the cores; " : "") +
                              $"time to first token p50 {ttfts[ttfts.Count / 2]:F1} ms, p95 {ttfts[(int)Math.Ceiling(0.95 * ttfts.Count) - 1]:F1} ms ({ttfts.Count} requests; library p50 {libraryTtfts[libraryTtfts.Count / 2]:F1} ms)");
        }
        File.Delete(db);
        return 0;
    }

    static async Task<(int Tokens, double Ttft)> Stream(HttpClient http, int seed, int tokens)
    {
        var body = Body(seed, tokens);
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

    static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

    static string Body(int seed, int tokens) =>
        $$"""{"model":"shakespeare-char","prompt":"ROMEO:","max_tokens":{{tokens}},"temperature":1,"seed":{{seed}},"stream":true}""";

    // Streamed requests, one per seed, as parallel transfers of one curl process (so no process start-up is timed): the
    // round's time is its longest transfer (all start together); time to first token = a transfer's time to its first byte
    // (headers go out with the first event, and a completion streams no role chunk before its first token).
    static async Task<((int Tokens, double Ttft)[] Streams, double Seconds)> Curl(string url, int[] seeds, int tokens)
    {
        var dir = Directory.CreateTempSubdirectory("gensharp-bench-curl").FullName;
        try
        {
            var args = new List<string> { "-sS", "-Z", "--parallel-immediate", "--parallel-max", seeds.Length.ToString() };
            foreach (int seed in seeds)
            {
                if (seed != seeds[0]) args.Add("--next");
                args.AddRange(["-N", "--fail-with-body", "-H", "Content-Type: application/json", "-d", Body(seed, tokens),
                    "-o", Path.Combine(dir, $"{seed}.sse"), "-w", "%{time_starttransfer} %{time_total}\n", url]);
            }
            using var curl = Process.Start(new ProcessStartInfo("curl", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var timing = await curl.StandardOutput.ReadToEndAsync();
            await curl.WaitForExitAsync();
            if (curl.ExitCode != 0) throw new InvalidOperationException($"curl exited with {curl.ExitCode}: {await curl.StandardError.ReadToEndAsync()}");
            var times = timing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ').Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
            var streams = seeds.Select(seed => File.ReadLines(Path.Combine(dir, $"{seed}.sse"))
                .Count(l => l.StartsWith("data: {", StringComparison.Ordinal) && !l.Contains("\"text\":\"\""))).ToArray();
            if (times.Length != seeds.Length) throw new InvalidOperationException($"curl reported {times.Length} transfers of {seeds.Length}");
            return ([.. streams.Zip(times, (n, t) => (n, t[0] * 1000))], times.Max(t => t[1]));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // CPU seconds (user + system) of this process's exited children: the curl clients' own share of the cores.
    static double ChildCpuSeconds()
    {
        var usage = new long[18];   // struct rusage: ru_utime, ru_stime (timeval: seconds, microseconds), 14 counters
        if (GetRUsage(-1, usage) != 0) return 0;   // RUSAGE_CHILDREN
        return usage[0] + usage[1] / 1e6 + usage[2] + usage[3] / 1e6;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    static extern int GetRUsage(int who, long[] usage);

    static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
    }
}
