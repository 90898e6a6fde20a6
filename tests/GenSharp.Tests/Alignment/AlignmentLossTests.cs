using GenSharp.Alignment;
using static TorchSharp.torch;

namespace GenSharp.Tests.Alignment;

/// <summary>The alignment objectives against values worked out by hand (the numbers in the comments).</summary>
public sealed class AlignmentLossTests
{
    static Tensor T(params double[] v) => tensor(v, dtype: float64);

    [Fact]
    public void DpoLossAndRewardsEqualHandComputedValues()
    {
        // pair 1: log π/π_ref chosen = −1 − (−2) = 1, rejected = −3 − (−2.5) = −0.5, h = 1.5, β·h = 0.75
        // pair 2: chosen 0, rejected 1, h = −1, β·h = −0.5
        var pc = T(-1, -2).requires_grad_();
        var refChosen = T(-2, -2).requires_grad_();
        var d = DpoLoss.Compute(pc, T(-3, -1), refChosen, T(-2.5, -2), beta: 0.5);
        // −log σ(0.75) = 0.386871, −log σ(−0.5) = 0.974077; mean 0.680474
        Assert.Equal(0.680474, d.Loss.item<double>(), 5);
        Assert.Equal([0.5, 0.0], d.ChosenRewards.data<double>().ToArray());
        Assert.Equal([-0.25, 0.5], d.RejectedRewards.data<double>().ToArray());
        Assert.Equal([0.75, -0.5], d.Margins.data<double>().ToArray());
        Assert.Equal([1.0, 0.0], d.Accuracies.data<double>().ToArray());
        d.Loss.backward();
        // ∂L/∂log π(y_w) = −β·σ(−β·h) / B: pair 1 −0.5·σ(−0.75)/2 = −0.0802053
        Assert.Equal(-0.0802053, pc.grad!.data<double>()[0], 6);
        Assert.True(refChosen.grad is null || refChosen.grad.abs().sum().item<double>() == 0, "the reference gets no gradient");
    }

    [Fact]
    public void IpoLossIsTheSquaredDistanceOfTheMarginFromOneOverTwoBeta()
    {
        // h = 1.5 and −1 as above, 1/(2β) = 1: (0.5)² and (−2)², mean 2.125
        var d = DpoLoss.Compute(T(-1, -2), T(-3, -1), T(-2, -2), T(-2.5, -2), beta: 0.5, PreferenceLossType.Ipo);
        Assert.Equal(2.125, d.Loss.item<double>(), 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => DpoLoss.Compute(T(0), T(0), T(0), T(0), beta: 0));
    }

    [Fact]
    public void BradleyTerryLossGradientAndAccuracy()
    {
        // r_w − r_l = 1 and −1: (log(1 + e⁻¹) + log(1 + e)) / 2 = 0.813262; ∂L/∂r_w = −σ(r_l − r_w)/2 = −0.134471, −0.365529
        var chosen = T(2, 0).requires_grad_();
        var loss = BradleyTerry.Loss(chosen, T(1, 1));
        Assert.Equal(0.813262, loss.item<double>(), 5);
        loss.backward();
        Assert.Equal(-0.134471, chosen.grad!.data<double>()[0], 5);
        Assert.Equal(-0.365529, chosen.grad!.data<double>()[1], 5);
        Assert.Equal(0.5, BradleyTerry.Accuracy(T(2, 0), T(1, 1)));
        Assert.Equal(0.0, BradleyTerry.Accuracy(T(1), T(1)));   // a tie is not a win
    }

    [Fact]
    public void K3IsNonNegativeAndMatchesItsFormula()
    {
        // log π = −1, log π_ref = −2: log r = −1, k3 = e⁻¹ − (−1) − 1 = 0.367879, k1 = 1
        Assert.Equal(0.367879, KlEstimator.K3(T(-1), T(-2)).item<double>(), 6);
        Assert.Equal(1.0, KlEstimator.K1(T(-1), T(-2)).item<double>(), 10);
        Assert.Equal(0.0, KlEstimator.K3(T(-0.3), T(-0.3)).item<double>(), 12);
        var random = KlEstimator.K3(randn(1000, dtype: float64), randn(1000, dtype: float64));
        Assert.True(random.min().item<double>() >= 0);
    }

    [Fact]
    public void GroupAdvantagesAreRewardsNormalisedWithinEachGroup()
    {
        // group 1: mean 0.5, sample std √(1/3) = 0.57735 → ±0.5 / (0.57735 + 1e-4) = ±0.865875; group 2 all equal → 0
        var a = GrpoObjective.Advantages(T(1, 0, 0, 1, 3, 3, 3, 3), groupSize: 4).data<double>().ToArray();
        Assert.Equal([0.865875, -0.865875, -0.865875, 0.865875, 0, 0, 0, 0], a.Select(v => Math.Round(v, 6)).ToArray());
        Assert.Throws<ArgumentException>(() => GrpoObjective.Advantages(T(1, 2, 3), groupSize: 2));
    }

    [Fact]
    public void GrpoClippedObjectiveEqualsHandComputedValue()
    {
        // ratios: answer 0 (Â = 1) 1.5 and 0.9; answer 1 (Â = −2) 0.7 and a masked token. ε_clip 0.2:
        //   answer 0: min(1.5, 1.2) = 1.2, min(0.9, 0.9) = 0.9 → mean 1.05
        //   answer 1: min(0.7·−2, 0.8·−2) = −1.6
        //   J = (1.05 − 1.6) / 2 = −0.275 → loss 0.275; clipped tokens: 1.5 and 0.7 of 3 → 2/3
        var old = T(-1, -2, -1.5, -0.5).view(2, 2);
        var logp = (old + T(Math.Log(1.5), Math.Log(0.9), Math.Log(0.7), 5).view(2, 2)).requires_grad_();
        var mask = T(1, 1, 1, 0).view(2, 2);
        var (loss, kl, clipped) = GrpoObjective.Loss(logp, old, logp.detach(), mask, T(1, -2), clip: 0.2, beta: 0.1);
        Assert.Equal(0.275, loss.item<double>(), 10);
        Assert.Equal(0.0, kl.item<double>(), 12);
        Assert.Equal(2.0 / 3, clipped.item<double>(), 10);

        // a reference one nat below on every token: k3 = e⁻¹ = 0.367879 per token, loss + β·k3 = 0.311788
        var (withKl, meanKl, _) = GrpoObjective.Loss(logp, old, logp.detach() - 1, mask, T(1, -2), clip: 0.2, beta: 0.1);
        Assert.Equal(0.311788, withKl.item<double>(), 6);
        Assert.Equal(0.367879, meanKl.item<double>(), 6);
    }
}
