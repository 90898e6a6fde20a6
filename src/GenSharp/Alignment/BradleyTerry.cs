using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GenSharp.Alignment;

/// <summary>
/// The reward model's objective (Bradley &amp; Terry 1952; Ouyang et al. 2022, eq. 1): the chosen answer beats the rejected
/// one with probability σ(r_w − r_l), so L = −log σ(r_w − r_l), averaged over the pairs; ∂L/∂r_w = −σ(r_l − r_w) / B.
/// </summary>
public static class BradleyTerry
{
    /// <summary>The mean loss of scalar rewards (B) for the chosen and rejected answers.</summary>
    public static Tensor Loss(Tensor chosenRewards, Tensor rejectedRewards) => -F.logsigmoid(chosenRewards - rejectedRewards).mean();

    /// <summary>The fraction of pairs whose chosen answer gets the higher reward (ties count as wrong).</summary>
    public static double Accuracy(Tensor chosenRewards, Tensor rejectedRewards) =>
        chosenRewards.gt(rejectedRewards).to(float64).mean().item<double>();
}
