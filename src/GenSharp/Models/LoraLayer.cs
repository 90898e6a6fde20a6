using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Models;

/// <summary>
/// One projection's low-rank update (Hu et al. 2021, eq. 3): h = W₀x + (α/r)·B·A·x, with A (r × in) and B (out × r).
/// A starts as PEFT's (Kaiming-uniform, a = √5: U(−1/√in, 1/√in)) and B at zero, so a new adapter changes nothing.
/// Held beside the frozen base weight, not registered in the model's state dict: the base stays an HF model.
/// </summary>
public sealed class LoraLayer : IDisposable
{
    public LoraLayer(long inFeatures, long outFeatures, LoraConfig config, Generator? generator, Device device)
    {
        (Rank, Scale, Dropout) = (config.Rank, config.Scale, config.Dropout);
        using var _ = no_grad();
        double bound = 1 / Math.Sqrt(inFeatures);
        A = new Parameter((rand([config.Rank, inFeatures], generator: generator) * (2 * bound) - bound).to(device));
        B = new Parameter(zeros([outFeatures, config.Rank], device: device));
    }

    public int Rank { get; }
    public double Scale { get; }
    public double Dropout { get; }
    public Parameter A { get; }   // lora_A.weight (r, in)
    public Parameter B { get; }   // lora_B.weight (out, r)

    /// <summary>(α/r)·B·A·dropout(x) for x (…, in) → (…, out).</summary>
    public Tensor Delta(Tensor x, bool training)
    {
        var h = training && Dropout > 0 ? F.dropout(x, Dropout, training: true) : x;
        return F.linear(F.linear(h, A), B).mul_(Scale);
    }

    /// <summary>The update as a weight matrix, (α/r)·B·A (out × in): what merging adds to W₀.</summary>
    public Tensor Weight() => B.matmul(A).mul_(Scale);

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}
