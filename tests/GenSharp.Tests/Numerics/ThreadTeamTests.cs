using GenSharp.Numerics;

namespace GenSharp.Tests.Numerics;

public sealed class ThreadTeamTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryPartOfEveryPhaseRunsOnceAndRunReturnsAfterAll(int size)
    {
        using var team = new ThreadTeam(size);
        for (int phase = 0; phase < 2000; phase++)
        {
            var runs = new int[size];
            team.Run(part =>
            {
                if (part == phase % size) Thread.SpinWait(50);   // one slow part: Run must wait for it
                Interlocked.Increment(ref runs[part]);
            });
            Assert.All(runs, r => Assert.Equal(1, r));
            if (phase % 500 == 499) Thread.Sleep(2);   // the workers fall asleep between some phases and must wake
        }
    }
}
