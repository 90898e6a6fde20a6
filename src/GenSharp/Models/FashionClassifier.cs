using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Models;

/// <summary>
/// A small CNN for Fashion-MNIST: two conv–BN–ReLU–conv–BN–ReLU–maxpool stages, a ReLU feature layer and a
/// linear head. Its feature layer is the embedding behind FID-FMNIST (Heusel et al. 2017, with this network
/// in place of Inception). Images (B, C, H, W) in [−1, 1] → logits (B, classes).
/// </summary>
public sealed class FashionClassifier : Module<Tensor, Tensor>
{
    readonly Sequential features;
    readonly Linear embed;
    readonly Dropout dropout;
    readonly Linear head;

    public FashionClassifier(ClassifierConfig config) : base(nameof(FashionClassifier))
    {
        Numerics.ConvolutionCheck.EnsureCorrect();   // libtorch's oneDNN convolution is wrong on some CPUs
        Config = config.Validate();
        int c = config.Channels, s = config.ImageSize / 4;
        features = Sequential(
            Conv2d(config.InChannels, c, 3, padding: 1), BatchNorm2d(c), ReLU(), Conv2d(c, c, 3, padding: 1), BatchNorm2d(c), ReLU(), MaxPool2d(2),
            Conv2d(c, 2 * c, 3, padding: 1), BatchNorm2d(2 * c), ReLU(), Conv2d(2 * c, 2 * c, 3, padding: 1), BatchNorm2d(2 * c), ReLU(), MaxPool2d(2),
            Flatten());
        embed = Linear(2 * c * s * s, config.FeatureDim);
        dropout = Dropout(0.3);
        head = Linear(config.FeatureDim, config.NumClasses);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var bn in modules().OfType<BatchNorm2d>())   // set explicitly, as for GroupNorm in UNet.cs
        {
            bn.weight!.fill_(1);
            bn.bias!.zero_();
        }
    }

    public ClassifierConfig Config { get; }

    /// <summary>Penultimate-layer features (B, feature_dim).</summary>
    public Tensor Features(Tensor x) => F.relu(embed.forward(features.forward(x)));

    /// <summary>Logits from features already computed by <see cref="Features"/> (dropout applies in training mode).</summary>
    public Tensor Classify(Tensor features) => head.forward(dropout.forward(features));

    public override Tensor forward(Tensor x) => Classify(Features(x));
}
