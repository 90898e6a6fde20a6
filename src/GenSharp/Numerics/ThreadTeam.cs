namespace GenSharp.Numerics;

/// <summary>
/// A fixed team of threads for the many short parallel phases of a decode step (a few µs each, ~10 per layer): the
/// caller runs part 0 and <see cref="Size"/> − 1 workers run the others. Workers spin for a while after a phase, so
/// the next one starts in well under a microsecond, then sleep on a semaphore, so an idle team (between requests, or
/// sharing the cores with another process) costs nothing. <see cref="Parallel.For(int, int, Action{int})"/> costs
/// 5–20 µs a call here, which is most of a step of a small model. One caller at a time; phases must not throw.
/// </summary>
internal sealed class ThreadTeam : IDisposable
{
    // ~50 µs of spinning: longer than the gaps inside a step, far shorter than a person notices.
    static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 20_000;

    readonly Thread[] _workers;
    readonly SemaphoreSlim[] _wake;
    readonly int[] _sleeping;
    Action<int>? _work;
    int _epoch, _pending;
    volatile bool _disposed;

    public ThreadTeam(int size)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), $"a team needs at least one thread (got {size})");
        Size = size;
        _workers = new Thread[size - 1];
        _wake = [.. Enumerable.Range(0, size - 1).Select(_ => new SemaphoreSlim(0))];
        _sleeping = new int[size - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            int part = i + 1;
            _workers[i] = new Thread(() => Loop(part)) { IsBackground = true, Name = $"gensharp-decode-{part}" };
            _workers[i].Start();
        }
    }

    public int Size { get; }

    /// <summary>Runs <paramref name="work"/>(part) for every part in 0 … Size − 1 and returns when all are done.</summary>
    public void Run(Action<int> work)
    {
        if (_workers.Length == 0) { work(0); return; }
        _work = work;
        Volatile.Write(ref _pending, _workers.Length);
        Interlocked.Increment(ref _epoch);                                   // a full fence: the work is visible first
        for (int i = 0; i < _sleeping.Length; i++)
            if (Interlocked.Exchange(ref _sleeping[i], 0) == 1) _wake[i].Release();
        work(0);
        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(-1);          // never Sleep(1): phases are µs long
    }

    void Loop(int part)
    {
        int seen = 0, i = part - 1;
        while (true)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _epoch) == seen && !_disposed)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() < until) { Thread.SpinWait(20); continue; }
                Interlocked.Exchange(ref _sleeping[i], 1);
                // Run may have started a phase between our last look and the flag: take the flag back, or, if Run took
                // it first, consume the release it sent.
                if (Volatile.Read(ref _epoch) != seen || _disposed)
                {
                    if (Interlocked.Exchange(ref _sleeping[i], 0) == 0) _wake[i].Wait();
                }
                else _wake[i].Wait();
            }
            if (_disposed) return;
            seen = Volatile.Read(ref _epoch);
            _work!(part);
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int i = 0; i < _sleeping.Length; i++)
            if (Interlocked.Exchange(ref _sleeping[i], 0) == 1) _wake[i].Release();
        foreach (var t in _workers) t.Join();
        foreach (var s in _wake) s.Dispose();
    }
}
