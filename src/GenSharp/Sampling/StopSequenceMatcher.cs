using System.Text;

namespace GenSharp.Sampling;

/// <summary>
/// Finds stop sequences in streamed text, also when one is split across tokens. Text that could still
/// turn out to be the start of a stop sequence is held back, so a stop sequence is never emitted.
/// </summary>
internal sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    readonly StringBuilder _pending = new();

    public bool Stopped { get; private set; }

    /// <summary>Adds a decoded piece; returns the text that is now safe to emit.</summary>
    public string Push(string piece)
    {
        if (Stopped) return "";
        _pending.Append(piece);
        var text = _pending.ToString();
        int first = -1;
        foreach (var stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        if (first >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return text[..first];
        }
        int hold = 0;   // longest suffix of the text that is a proper prefix of some stop sequence
        foreach (var stop in stops)
            for (int len = Math.Min(stop.Length - 1, text.Length); len > hold; len--)
                if (text.AsSpan(text.Length - len).SequenceEqual(stop.AsSpan(0, len))) { hold = len; break; }
        _pending.Clear().Append(text, text.Length - hold, hold);
        return text[..^hold];
    }

    /// <summary>At the end of generation, whatever was held back is ordinary text.</summary>
    public string Flush()
    {
        var rest = _pending.ToString();
        _pending.Clear();
        return Stopped ? "" : rest;
    }
}
