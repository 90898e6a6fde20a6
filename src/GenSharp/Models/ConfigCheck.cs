namespace GenSharp.Models;

/// <summary>
/// Bounds for config.json values, checked before anything is allocated: a value outside them is an
/// <see cref="ArgumentException"/> naming the key, the value and the bound (the loader adds the file).
/// </summary>
internal static class ConfigCheck
{
    public static void Range(long value, string key, long min, long max)
    {
        if (value < min || value > max) throw new ArgumentException($"{key} = {value} is outside {min}…{max}");
    }

    public static void Range(double value, string key, double min, double max, bool minExclusive = false, bool maxExclusive = false)
    {
        bool low = minExclusive ? value <= min : value < min, high = maxExclusive ? value >= max : value > max;
        if (!double.IsFinite(value) || low || high)
            throw new ArgumentException($"{key} = {value} is outside {(minExclusive ? "(" : "[")}{min}, {max}{(maxExclusive ? ")" : "]")}");
    }

    public static void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException(message);
    }

    /// <summary>Image sizes, channel widths and class counts shared by the image models.</summary>
    public const int MaxImageSize = 1024, MaxChannels = 4096, MaxClasses = 100_000, MaxLatent = 65_536;
}
