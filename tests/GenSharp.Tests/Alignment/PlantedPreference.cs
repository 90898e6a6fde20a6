using System.Text.Json;
using GenSharp.Tests.Cli;

namespace GenSharp.Tests.Alignment;

/// <summary>
/// A planted preference on real text: a line of the play that speaks of love ("love", "lover", …) is preferred to one that
/// does not. Training pairs come from one half of the lines, held-out pairs from the other half.
/// </summary>
static class PlantedPreference
{
    public const string Prompt = "Speak:\n";

    /// <summary><paramref name="train"/> training pairs, then <paramref name="heldOut"/> held-out pairs, as JSONL rows in TRL's standard format.</summary>
    public static string[] Rows(int train, int heldOut, int seed)
    {
        var lines = File.ReadLines(Path.Combine(CliRunner.Repo(), "data", "tinyshakespeare.txt")).Select(l => l.Trim())
            .Where(l => l.Length is >= 20 and <= 60 && !l.EndsWith(':')).Distinct().ToArray();
        var love = lines.Where(l => l.Contains("love", StringComparison.OrdinalIgnoreCase)).ToArray();
        var other = lines.Where(l => !l.Contains("love", StringComparison.OrdinalIgnoreCase)).ToArray();
        var rng = new Random(seed);
        string Pair(int half) => JsonSerializer.Serialize(new
        {
            prompt = Prompt,
            chosen = love[half * love.Length / 2 + rng.Next(love.Length / 2)],
            rejected = other[half * other.Length / 2 + rng.Next(other.Length / 2)],
        });
        return [.. Enumerable.Range(0, train).Select(_ => Pair(0)), .. Enumerable.Range(0, heldOut).Select(_ => Pair(1))];
    }
}
