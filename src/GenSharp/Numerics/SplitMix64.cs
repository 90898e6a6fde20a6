namespace GenSharp.Numerics;

/// <summary>SplitMix64 (Steele et al. 2014) as a stateless hash of several words.</summary>
public static class SplitMix64
{
    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static ulong Hash(params ReadOnlySpan<ulong> words)
    {
        ulong h = 0x243F6A8885A308D3UL;
        foreach (var w in words) h = Mix(h ^ w);
        return h;
    }
}
