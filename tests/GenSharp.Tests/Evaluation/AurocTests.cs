using GenSharp.Evaluation;

namespace GenSharp.Tests.Evaluation;

public sealed class AurocTests
{
    [Fact]
    public void MatchesHandCountedPairs()
    {
        Assert.Equal(1.0, Auroc.Compute([3, 4, 1, 2], [true, true, false, false]));
        Assert.Equal(0.0, Auroc.Compute([1, 2, 3, 4], [true, true, false, false]));
        // Positives 0.8, 0.4; negatives 0.5, 0.4, 0.1: pairs won 1+1+1 + 0+½+1 = 4.5 of 6.
        Assert.Equal(4.5 / 6, Auroc.Compute([0.8, 0.4, 0.5, 0.4, 0.1], [true, true, false, false, false]), 12);
        Assert.Equal(0.5, Auroc.Compute([7, 7, 7, 7], [true, false, true, false]));
    }

    [Fact]
    public void RejectsDegenerateInput()
    {
        Assert.Throws<ArgumentException>(() => Auroc.Compute([1, 2], [true, true]));
        Assert.Throws<ArgumentException>(() => Auroc.Compute([1, double.NaN], [true, false]));
        Assert.Throws<ArgumentException>(() => Auroc.Compute([1], [true, false]));
    }
}
