using GenSharp.Sampling;

namespace GenSharp.Tests.Sampling;

public sealed class StopSequenceMatcherTests
{
    static (string Emitted, bool Stopped) Run(string[] pieces, params string[] stops)
    {
        var m = new StopSequenceMatcher(stops);
        var text = string.Concat(pieces.Select(m.Push));
        if (!m.Stopped) text += m.Flush();
        return (text, m.Stopped);
    }

    [Fact]
    public void StopSplitAcrossPiecesIsCaughtAndNotEmitted() =>
        Assert.Equal(("Hello ", true), Run(["Hel", "lo E", "N", "D and more"], "END"));

    [Fact]
    public void APartialMatchThatFailsIsEmittedInFull() =>
        Assert.Equal(("a EN b EN", false), Run(["a E", "N b ", "EN"], "END"));

    [Fact]
    public void TheEarliestOfSeveralStopsWins() =>
        Assert.Equal(("x", true), Run(["xyzw"], "zw", "y"));

    [Fact]
    public void HeldBackTextIsNotEmittedUntilResolved()
    {
        var m = new StopSequenceMatcher(["\n\n"]);
        Assert.Equal("line", m.Push("line\n"));
        Assert.Equal("\nnext", m.Push("next"));
    }
}
