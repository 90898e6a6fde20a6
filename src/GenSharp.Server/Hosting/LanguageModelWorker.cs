using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using GenSharp.Tokenizers;

namespace GenSharp.Server.Hosting;

/// <summary>
/// One language model served to many requests: a dedicated thread owns the model and its <see cref="GenerationEngine"/>
/// and, between decode steps, admits queued requests (while slots are free), drops cancelled ones and runs other
/// work on the model (embeddings). Requests to the model are therefore batched together: continuous batching.
/// </summary>
public sealed class LanguageModelWorker : IDisposable
{
    /// <summary>One request's sequences and the channel its events go to.</summary>
    sealed class Job(int[] prompt, GenerationOptions options, CancellationToken cancel, int adapter)
    {
        public readonly int Adapter = adapter;
        public readonly int[] Prompt = prompt;
        public readonly GenerationOptions Options = options;
        public readonly CancellationToken Cancel = cancel;
        public readonly Channel<GenerationEvent> Events = Channel.CreateUnbounded<GenerationEvent>(new() { SingleReader = true, SingleWriter = true });
        public IReadOnlyList<GeneratedSequence> Sequences = [];
        public CancellationTokenRegistration Wake;
        public readonly List<GenerationEvent> Held = [];   // decoded, not yet handed to the request (see StreamInterval)
        public long HandedOff;                             // Stopwatch timestamp of the last hand-off; 0: none yet

        /// <summary>Hands the held events to the request's channel: one wake-up of its reader for all of them.</summary>
        public void Release()
        {
            foreach (var e in Held) Events.Writer.TryWrite(e);
            Held.Clear();
            HandedOff = Stopwatch.GetTimestamp();
        }
    }

    readonly GenerationEngine _engine;
    readonly ConcurrentQueue<Job> _pending = new();
    readonly ConcurrentQueue<Action> _work = new();
    readonly List<Job> _active = [];
    readonly Dictionary<int, Job> _bySequence = [];   // sequence id → its request, for routing each step's events
    readonly SemaphoreSlim _signal = new(0);
    readonly Thread _thread;
    readonly int _maxQueue;
    volatile bool _stopping;
    int _queued, _running;

    public LanguageModelWorker(string name, LlamaForCausalLM model, ITokenizer tokenizer, ChatTemplate template, int maxBatch, int maxQueue,
        DecodeKernelOptions? kernels = null)
    {
        (Name, Model, Tokenizer, _maxQueue) = (name, model, tokenizer, maxQueue);
        _engine = new GenerationEngine(model, tokenizer, maxBatch, ContextOverflow.Stop, kernels);
        Chat = new ChatFormat(template, tokenizer, _engine.Context);
        _thread = new Thread(Loop) { IsBackground = true, Name = $"gensharp-{name}" };
        _thread.Start();
    }

    public string Name { get; }
    public LlamaForCausalLM Model { get; }
    /// <summary>
    /// How long a request's decoded tokens may wait to be handed over together (zero: each step's at once). Its first
    /// token and its last are handed over at once, and held tokens never wait for another prefill; between, a stream gets
    /// one wake-up, one flush and one socket write per interval instead of per token — the server's cost per token, which
    /// at one stream of a small model was 15–21 % of the decode time.
    /// </summary>
    public TimeSpan StreamInterval { get; init; } = DefaultStreamInterval;

    /// <summary>20 ms: 50 updates a second, smooth to a reader.</summary>
    public static readonly TimeSpan DefaultStreamInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>The checkpoint's generation_config.json: what a request that leaves a control unset gets.</summary>
    public GenerationDefaults Defaults { get; init; } = GenerationDefaults.None;
    public ITokenizer Tokenizer { get; }
    /// <summary>The library's chat path for this model (template, encoding, context policy, stops).</summary>
    public ChatFormat Chat { get; }
    public int Capacity => _engine.Capacity;
    /// <summary>What runs decode steps (<see cref="GenerationEngine.DecodeBackend"/>).</summary>
    public string DecodeBackend => _engine.DecodeBackend;
    public int Context => _engine.Context;
    /// <summary>Time in the model's forward passes so far (prefill and decode; <see cref="GenerationEngine.ModelTime"/>): the bench's split of a request's time.</summary>
    public TimeSpan ModelTime => _engine.ModelTime;
    /// <summary>Decode steps so far.</summary>
    public long Steps => _engine.Steps;
    /// <summary>Sequences being decoded now (a request with n samples counts n).</summary>
    public int Running => Volatile.Read(ref _running);
    /// <summary>Requests waiting for free slots.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>
    /// Queues a request and streams its events (each sequence ends with a finish reason). Cancelling
    /// <paramref name="cancel"/> stops its sequences before the next decode step and frees their slots.
    /// </summary>
    public ChannelReader<GenerationEvent> Submit(int[] prompt, GenerationOptions options, CancellationToken cancel, int adapter = -1)
    {
        if (options.N > Capacity) throw new ArgumentException($"n must be at most {Capacity} for this model (got {options.N})");
        // Up to the free slots plus the queue bound may wait for admission: a burst fills the slots, then the queue, then gets 429.
        if (Interlocked.Increment(ref _queued) > _maxQueue + Math.Max(0, Capacity - Running))
        {
            Interlocked.Decrement(ref _queued);
            throw new ServerBusyException($"{Name} has {_maxQueue} requests waiting; retry shortly");
        }
        var job = new Job(prompt, options, cancel, adapter);
        _pending.Enqueue(job);
        job.Wake = cancel.Register(() => _signal.Release());   // a cancelled request is dropped at the next step
        _signal.Release();
        return job.Events.Reader;
    }

    /// <summary>Runs <paramref name="work"/> on the model's thread between decode steps (the model is not thread-safe to share).</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Enqueue(() =>
        {
            try { done.SetResult(work()); }
            catch (Exception e) { done.SetException(e); }
        });
        _signal.Release();
        return done.Task;
    }

    void Loop()
    {
        while (!_stopping)
        {
            while (_work.TryDequeue(out var w)) w();
            DropCancelled();
            if (Admit()) ReleaseAll();   // the next step prefills: held tokens do not wait for it
            if (!_engine.HasWork)
            {
                _signal.Wait(TimeSpan.FromMilliseconds(200));
                continue;
            }
            IReadOnlyList<GenerationEvent> events;
            try { events = _engine.Step(); }
            catch (Exception e)   // a failing step fails the requests in it, not the server
            {
                foreach (var job in _active.ToArray()) Fail(job, e);
                continue;
            }
            foreach (var e in events)
                if (_bySequence.TryGetValue(e.Sequence.Id, out var job)) job.Held.Add(e);
            for (int i = _active.Count - 1; i >= 0; i--)   // backwards: Complete removes the job
            {
                var job = _active[i];
                if (job.Held.Count == 0) continue;
                if (job.Sequences.All(s => s.Finish is not null)) Complete(job);
                else if (job.HandedOff == 0 || Stopwatch.GetElapsedTime(job.HandedOff) >= StreamInterval) job.Release();
            }
        }
    }

    void ReleaseAll()
    {
        foreach (var job in _active) if (job.Held.Count > 0) job.Release();
    }

    /// <summary>Admits queued requests while slots are free; true when any was added (the next step prefills it).</summary>
    bool Admit()
    {
        bool added = false;
        while (_pending.TryPeek(out var job) && (job.Cancel.IsCancellationRequested || job.Options.N <= _engine.FreeSlots))
        {
            _pending.TryDequeue(out _);
            Interlocked.Decrement(ref _queued);
            if (job.Cancel.IsCancellationRequested) { Close(job, null); continue; }
            try { job.Sequences = _engine.Add(job.Prompt, job.Options, job.Adapter); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { Close(job, e); continue; }
            _active.Add(job);
            foreach (var s in job.Sequences) _bySequence[s.Id] = job;
            Interlocked.Add(ref _running, job.Sequences.Count);
            added = true;
        }
        return added;
    }

    void DropCancelled()
    {
        foreach (var job in _active.Where(j => j.Cancel.IsCancellationRequested).ToArray())
        {
            foreach (var s in job.Sequences) _engine.Cancel(s);
            Complete(job);
        }
    }

    void Complete(Job job, Exception? error = null)
    {
        job.Release();
        _active.Remove(job);
        foreach (var s in job.Sequences) _bySequence.Remove(s.Id);
        Interlocked.Add(ref _running, -job.Sequences.Count);
        Close(job, error);
    }

    void Fail(Job job, Exception e)
    {
        foreach (var s in job.Sequences) _engine.Cancel(s);
        Complete(job, e);
    }

    static void Close(Job job, Exception? error)
    {
        job.Wake.Dispose();
        job.Events.Writer.TryComplete(error);
    }

    public void Dispose()
    {
        _stopping = true;
        _signal.Release();
        _thread.Join(TimeSpan.FromSeconds(10));
        foreach (var job in _active) job.Events.Writer.TryComplete(new OperationCanceledException("the server is shutting down"));
        _engine.Dispose();
        Model.Dispose();
    }
}
