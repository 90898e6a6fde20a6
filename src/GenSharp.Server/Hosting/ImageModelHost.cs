using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Server.Hosting;

/// <summary>
/// An image model served one generation at a time, with a bounded queue: <paramref name="maxQueue"/> requests may wait
/// behind the running one; more are refused (<see cref="ServerBusyException"/>, a 429) instead of piling up in memory.
/// </summary>
public sealed class ImageModelHost(string name, IImageGenerator generator, int maxQueue)
{
    readonly SemaphoreSlim _lock = new(1, 1);
    int _queued, _running;

    public string Name => name;
    public IImageGenerator Generator => generator;
    public int Capacity => 1;
    public int Running => Volatile.Read(ref _running);
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Images (N, C, H, W) in [−1, 1], generated on the thread pool; <paramref name="with"/> is this model with other sampler settings.</summary>
    public async Task<Tensor> GenerateAsync(int[] labels, long seed, CancellationToken cancel, IImageGenerator? with = null)
    {
        if (Interlocked.Increment(ref _queued) > maxQueue + (Capacity - Running))
        {
            Interlocked.Decrement(ref _queued);
            throw new ServerBusyException($"{name} has {maxQueue} image requests waiting; retry shortly");
        }
        try { await _lock.WaitAsync(cancel); }
        finally { Interlocked.Decrement(ref _queued); }
        Interlocked.Increment(ref _running);
        try
        {
            return await Task.Run(() =>
            {
                using var scope = NewDisposeScope();
                return (with ?? generator).Generate(labels, seed, cancel).cpu().MoveToOuterDisposeScope();
            }, cancel);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _lock.Release();
        }
    }
}
