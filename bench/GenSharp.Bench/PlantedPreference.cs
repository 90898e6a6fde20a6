using System.Text.Json;

namespace GenSharp.Bench;

/// <summary>
/// The planted preference of the alignment benchmarks: a line of the play that speaks of love ("love", "lover",
/// "beloved", …) is preferred to one that does not. Training pairs come from one half of the lines, held-out pairs from
/// the other half, so nothing held out was trained on.
/// </summary>
static class PlantedPreference
{
    public const string Prompt = "Speak:\n";

    public static bool Holds(string text) => text.Contains("love", StringComparison.OrdinalIgnoreCase);

    /// <summary>Writes <paramref name="train"/> training then <paramref name="test"/> held-out pairs (TRL's standard format) to <paramref name="path"/>.</summary>
    public static (int Love, int Other) Write(string path, int train, int test, int seed)
    {
        var lines = File.ReadLines(Path.Combine(TrainBench.RepoRoot(), "data", "tinyshakespeare.txt")).Select(l => l.Trim())
            .Where(l => l.Length is >= 20 and <= 60 && !l.EndsWith(':')).Distinct().ToArray();
        var love = lines.Where(Holds).ToArray();
        var other = lines.Where(l => !Holds(l)).ToArray();
        var rng = new Random(seed);
        string Pair(int half) => JsonSerializer.Serialize(new
        {
            prompt = Prompt,
            chosen = love[half * love.Length / 2 + rng.Next(love.Length / 2)],
            rejected = other[half * other.Length / 2 + rng.Next(other.Length / 2)],
        });
        File.WriteAllLines(path, [.. Enumerable.Range(0, train).Select(_ => Pair(0)), .. Enumerable.Range(0, test).Select(_ => Pair(1))]);
        return (love.Length, other.Length);
    }
}
