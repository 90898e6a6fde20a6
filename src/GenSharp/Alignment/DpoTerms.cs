using static TorchSharp.torch;

namespace GenSharp.Alignment;

/// <summary>
/// The DPO objective of a batch of pairs: the mean loss, and each pair's implicit rewards
/// β·(log π(y|x) − log π_ref(y|x)) of the chosen and rejected answers (TRL's rewards/chosen, rewards/rejected).
/// </summary>
public sealed record DpoTerms(Tensor Loss, Tensor ChosenRewards, Tensor RejectedRewards)
{
    /// <summary>rewards/margins: chosen − rejected, per pair.</summary>
    public Tensor Margins => ChosenRewards - RejectedRewards;

    /// <summary>rewards/accuracies: 1 where the chosen answer's reward is the larger, per pair.</summary>
    public Tensor Accuracies => ChosenRewards.gt(RejectedRewards).to(ChosenRewards.dtype);
}
