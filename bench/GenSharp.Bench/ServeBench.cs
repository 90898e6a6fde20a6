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
        string client = args.SkipWhile(a => a != "--client").Skip(1).FirstOrDefault() ?? "curl";
        bool curl = client == "curl";
        var url = GenSharpServer.Address(app).TrimEnd('/') + "/v1/completions";
        using var keepAlive = client == "keepalive" ? KeepAliveClient.Start(new Uri(url)) : null;
        Func<int, int, Task<((int Tokens, double Ttft, double Total)[] Streams, double Seconds)>> round = curl
            ? (seed, c) => Curl(url, [.. Enumerable.Range(seed, c)], tokens)
            : keepAlive is not null ? (seed, c) => keepAlive.Round([.. Enumerable.Range(seed, c)], tokens)
            : async (seed, c) =>
            {
                var sw = Stopwatch.StartNew();
                var streams = await Task.WhenAll(Enumerable.Range(seed, c).Select(i => Stream(http, i, tokens)));
                return (streams, sw.Elapsed.TotalSeconds);
            };
        Console.WriteLine($"clients: {(curl ? "one curl process a round, its transfers in parallel (curl -Z); time = curl's longest transfer"
            : keepAlive is not null ? "one Python process for all rounds (bench/clients/sse_client.py), a kept-alive connection a stream, as an SDK keeps them" : "HttpClient in this process")}");
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
            // Per round, server then library (alternating, so both see the machine's load of that moment); the overheads
            // are medians of the rounds' paired ratios, as this VM's speed drifts by 1.5× within seconds.
            var (serverRates, libraryRates) = (new List<double>(), new List<double>());   // tokens/s of whole requests
            var (serverGaps, libraryGaps) = (new List<double>(), new List<double>());     // ms a token after the first, median stream
            var (serverForward, libraryForward) = (new List<double>(), new List<double>()); // ms in forward passes a token
            double clientCpu = 0, roundSeconds = 0;
            int serverGcs = 0, libraryGcs = 0;   // gen-0 collections: each pauses every managed thread, the decode team's too
            var worker = models.LanguageModels.First();
            for (int r = 0; r < rounds; r++)
            {
                double children = ChildCpuSeconds() + (keepAlive?.CpuSeconds ?? 0);
                var before = worker.ModelTime;
                int gcs = GC.CollectionCount(0);
                var (results, seconds) = await round(r * 100, c);
                serverGcs += GC.CollectionCount(0) - gcs;
                serverForward.Add((worker.ModelTime - before).TotalMilliseconds / results.Sum(x => x.Tokens));
                (clientCpu, roundSeconds) = (clientCpu + Math.Max(0, ChildCpuSeconds() + (keepAlive?.CpuSeconds ?? 0) - children - startup), roundSeconds + seconds);
                serverRates.Add(results.Sum(x => x.Tokens) / seconds);
                ttfts.AddRange(results.Select(x => x.Ttft));
                serverGaps.Add(Median([.. results.Where(x => x.Tokens > 1).Select(x => (x.Total - x.Ttft) / (x.Tokens - 1))]));
                var libraryBefore = library.ModelTime;
                gcs = GC.CollectionCount(0);
                var sw = Stopwatch.StartNew();
                var seqs = Enumerable.Range(0, c).SelectMany(i => library.Add(prompt, new GenerationOptions { MaxTokens = tokens, Temperature = 1, Seed = r * 100 + i, IgnoreEos = true })).ToList();
                library.Step();
                double first = sw.Elapsed.TotalMilliseconds;
                libraryTtfts.Add(first);   // the prefill step: every request's first token
                while (library.HasWork) library.Step();
                double end = sw.Elapsed.TotalMilliseconds;
                int generated = seqs.Sum(q => q.Tokens.Count);
                libraryGaps.Add(Median([.. seqs.Where(q => q.Tokens.Count > 1).Select(q => (end - first) / (q.Tokens.Count - 1))]));
                libraryRates.Add(generated / end * 1e3);
                libraryForward.Add((library.ModelTime - libraryBefore).TotalMilliseconds / generated);
                libraryGcs += GC.CollectionCount(0) - gcs;
            }
            ttfts.Sort();
            libraryTtfts.Sort();
            double Paired(List<double> a, List<double> b) => Median([.. a.Zip(b, (x, y) => x / y)]);
            Console.WriteLine($"{c,2} concurrent streams: server {Median(serverRates):F0} tokens/s, library {Median(libraryRates):F0} tokens/s (server overhead {1 - Paired(serverRates, libraryRates):P1}); " +
                              $"after the first token {Median(serverGaps) * 1e3:F0} vs {Median(libraryGaps) * 1e3:F0} µs a token a stream (overhead per token {1 - Paired(libraryGaps, serverGaps):P1}); " +
                              $"forward passes {Median(serverForward) * 1e3:F0} vs {Median(libraryForward) * 1e3:F0} µs a token (server {Paired(serverForward, libraryForward) - 1:+0.0%;-0.0%}); " +
                              $"gen-0 GCs {serverGcs} vs {libraryGcs}; " +
                              (curl || keepAlive is not null ? $"the client's CPU while streaming {clientCpu / (roundSeconds * Environment.ProcessorCount):P0} of the cores; " : "") +
                              $"time to first token p50 {ttfts[ttfts.Count / 2]:F1} ms, p95 {ttfts[(int)Math.Ceiling(0.95 * ttfts.Count) - 1]:F1} ms ({ttfts.Count} requests; library p50 {libraryTtfts[libraryTtfts.Count / 2]:F1} ms)");
        }
        File.Delete(db);
        return 0;
    }

    static async Task<(int Tokens, double Ttft, double Total)> Stream(HttpClient http, int seed, int tokens)
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
        return (count, ttft, sw.Elapsed.TotalMilliseconds);
    }

    static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

    static string Body(int seed, int tokens) =>
        $$"""{"model":"shakespeare-char","prompt":"ROMEO:","max_tokens":{{tokens}},"temperature":1,"seed":{{seed}},"stream":true}""";

    // Streamed requests, one per seed, as parallel transfers of one curl process (so no process start-up is timed): the
    // round's time is its longest transfer (all start together); time to first token = a transfer's time to its first byte
    // (headers go out with the first event, and a completion streams no role chunk before its first token).
    static async Task<((int Tokens, double Ttft, double Total)[] Streams, double Seconds)> Curl(string url, int[] seeds, int tokens)
    {
        var dir = Directory.CreateTempSubdirectory("gensharp-bench-curl").FullName;
        try
        {
            var args = new List<string> { "-sS", "-Z", "--parallel-immediate", "--parallel-max", seeds.Length.ToString() };
            foreach (int seed in seeds)
            {
                if (seed != seeds[0]) args.Add("--next");
                args.AddRange(["-N", "--fail-with-body", "-H", "Content-Type: application/json", "-d", Body(seed, tokens),
                    "-o", Path.Combine(dir, $"{seed}.sse"), "-w", "%{filename_effective} %{time_starttransfer} %{time_total}\n", url]);
            }
            using var curl = Process.Start(new ProcessStartInfo("curl", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var timing = await curl.StandardOutput.ReadToEndAsync();
            await curl.WaitForExitAsync();
            if (curl.ExitCode != 0) throw new InvalidOperationException($"curl exited with {curl.ExitCode}: {await curl.StandardError.ReadToEndAsync()}");
            // curl reports transfers as they finish: matched to their seeds by output file.
            var times = timing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
                .ToDictionary(f => Path.GetFileNameWithoutExtension(f[0]), f => f[1..].Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray());
            var streams = seeds.Select(seed => File.ReadLines(Path.Combine(dir, $"{seed}.sse"))
                .Count(l => l.StartsWith("data: {", StringComparison.Ordinal) && !l.Contains("\"text\":\"\""))).ToArray();
            if (times.Count != seeds.Length) throw new InvalidOperationException($"curl reported {times.Count} transfers of {seeds.Length}");
            return ([.. seeds.Select((seed, i) => (streams[i], times[$"{seed}"][0] * 1000, times[$"{seed}"][1] * 1000))], times.Values.Max(t => t[1]));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>bench/clients/sse_client.py, started once: each round a line in, a JSON line of the streams' timings out.</summary>
    sealed class KeepAliveClient : IDisposable
    {
        readonly Process _python;

        KeepAliveClient(Process python) => _python = python;

        public static KeepAliveClient Start(Uri url) => new(Process.Start(new ProcessStartInfo("python3",
            [Path.Combine(TrainBench.RepoRoot(), "bench", "clients", "sse_client.py"), url.Host, url.Port.ToString()])
            { RedirectStandardInput = true, RedirectStandardOutput = true })!);

        public double CpuSeconds { get { _python.Refresh(); return _python.TotalProcessorTime.TotalSeconds; } }

        public async Task<((int Tokens, double Ttft, double Total)[] Streams, double Seconds)> Round(int[] seeds, int tokens)
        {
            await _python.StandardInput.WriteLineAsync($"{string.Join(',', seeds)} {tokens}");
            await _python.StandardInput.FlushAsync();
            var line = await _python.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"the client exited ({(_python.HasExited ? _python.ExitCode : -1)})");
            var streams = System.Text.Json.JsonDocument.Parse(line).RootElement.EnumerateArray()
                .Select(e => (e.GetProperty("tokens").GetInt32(), e.GetProperty("ttft").GetDouble(), e.GetProperty("total").GetDouble())).ToArray();
            return (streams, streams.Max(x => x.Item3) / 1e3);
        }

        public void Dispose()
        {
            _python.StandardInput.Close();
            if (!_python.WaitForExit(5000)) _python.Kill();
            _python.Dispose();
        }
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
