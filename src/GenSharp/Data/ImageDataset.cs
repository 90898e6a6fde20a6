using GenSharp.Numerics;
using static TorchSharp.torch;

namespace GenSharp.Data;

/// <summary>
/// Images (N, C, H, W) as bytes with integer labels and class names. Batches come out as float in [-1, 1],
/// the range the generative models work in. Owns its tensors.
/// </summary>
public sealed class ImageDataset : IDisposable
{
    public ImageDataset(Tensor images, Tensor labels, IReadOnlyList<string> classNames)
    {
        if (images.dim() != 4 || images.dtype != ScalarType.Byte) throw new ArgumentException("images must be a (N, C, H, W) byte tensor");
        if (labels.shape[0] != images.shape[0]) throw new ArgumentException($"{images.shape[0]} images but {labels.shape[0]} labels");
        Images = images.DetachFromDisposeScope();
        Labels = labels.to(int64).DetachFromDisposeScope();
        ClassNames = classNames;
    }

    public Tensor Images { get; }                 // (N, C, H, W) uint8
    public Tensor Labels { get; }                 // (N) int64
    public IReadOnlyList<string> ClassNames { get; }
    public int Count => (int)Images.shape[0];
    public int Channels => (int)Images.shape[1];
    public int Height => (int)Images.shape[2];
    public int Width => (int)Images.shape[3];

    /// <summary>Images <paramref name="indices"/> as float (B, C, H, W) in [-1, 1] and their labels, on <paramref name="device"/>.</summary>
    public (Tensor X, Tensor Y) Batch(long[] indices, Device device)
    {
        using var scope = NewDisposeScope();
        var idx = tensor(indices);
        var x = Images.index_select(0, idx).to(float32).div_(127.5).sub_(1).to(device);
        var y = Labels.index_select(0, idx).to(device);
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }

    /// <summary>A training batch whose rows are a function of (seed, step): resumed runs repeat uninterrupted ones.</summary>
    public (Tensor X, Tensor Y) RandomBatch(long seed, long step, int batchSize, Device device)
    {
        var rows = new long[batchSize];
        for (int b = 0; b < batchSize; b++) rows[b] = (long)(Numerics.SplitMix64.Hash((ulong)seed, (ulong)step, (ulong)b, 1) % (ulong)Count);
        return Batch(rows, device);
    }

    /// <summary>The images whose label is not <paramref name="classIndex"/> (class names unchanged).</summary>
    public ImageDataset Without(int classIndex)
    {
        using var scope = NewDisposeScope();
        var idx = Labels.ne(classIndex).nonzero().squeeze(1);
        return new ImageDataset(Images.index_select(0, idx), Labels.index_select(0, idx), ClassNames);
    }

    /// <summary>A dataset of the first <paramref name="n"/> images.</summary>
    public ImageDataset Take(int n)
    {
        using var scope = NewDisposeScope();
        var idx = arange(Math.Min(n, Count));
        return new ImageDataset(Images.index_select(0, idx), Labels.index_select(0, idx), ClassNames);
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
