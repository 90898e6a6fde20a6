using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Numerics;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Data;

/// <summary>
/// Preference data in TRL's formats, one JSON object a row, with an explicit prompt:
/// <list type="bullet">
/// <item>standard: <c>{"prompt": "…", "chosen": "…", "rejected": "…"}</c>;</item>
/// <item>conversational: <c>{"prompt": [messages], "chosen": [assistant message], "rejected": [assistant message]}</c>,
/// rendered with the chat template (the feedback store's pairs are in this format).</item>
/// </list>
/// Each answer is read like a prompt-completion row of <see cref="SftDataset"/> (same masking, same errors), so a pair is
/// two examples that share their prompt tokens. A pair whose answers are equal is an error; repeated pairs are counted and
/// read once. The last <see cref="SftDataOptions.EvalFraction"/> of the pairs is held out.
/// </summary>
public sealed class PreferenceDataset
{
    PreferenceDataset(string format, List<PreferencePair> train, List<PreferencePair> eval, int skipped, int duplicates) =>
        (Format, Train, Eval, Skipped, Duplicates) = (format, train, eval, skipped, duplicates);

    /// <summary>standard or conversational.</summary>
    public string Format { get; }
    public IReadOnlyList<PreferencePair> Train { get; }
    public IReadOnlyList<PreferencePair> Eval { get; }
    /// <summary>Rows left out under <see cref="SftDataOptions.SkipBad"/>.</summary>
    public int Skipped { get; }
    /// <summary>Rows that repeat an earlier pair exactly, read once.</summary>
    public int Duplicates { get; }

    /// <summary>Training pairs for step <paramref name="step"/>, drawn as a function of (seed, step) so a resumed run repeats an uninterrupted one.</summary>
    public IReadOnlyList<PreferencePair> Draw(int batchSize, long seed, long step) => [.. DrawIndices(batchSize, seed, step).Select(i => Train[i])];

    /// <summary>The indices in <see cref="Train"/> of <see cref="Draw"/>'s pairs.</summary>
    public int[] DrawIndices(int batchSize, long seed, long step) =>
        [.. Enumerable.Range(0, batchSize).Select(b => (int)(SplitMix64.Hash((ulong)seed, (ulong)step, (ulong)b, 0x9E1) % (ulong)Train.Count))];

    /// <summary>Inputs (2B, T) — the B chosen answers, then the B rejected ones — and each row's last position (2B).</summary>
    public static (Tensor Input, Tensor Last) Tensors(IReadOnlyList<PreferencePair> pairs, Device device) =>
        Pad([.. pairs.Select(p => p.Chosen), .. pairs.Select(p => p.Rejected)], device);

    /// <summary>Right-padded token ids (N, T) of examples and each one's last position (N).</summary>
    public static (Tensor Input, Tensor Last) Pad(IReadOnlyList<SftExample> examples, Device device)
    {
        int n = examples.Count, T = examples.Max(e => e.Tokens.Length);
        var ids = new long[n * T];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < examples[i].Tokens.Length; t++) ids[i * T + t] = examples[i].Tokens[t];
        return (tensor(ids, device: device).view(n, T), tensor(examples.Select(e => (long)e.Tokens.Length - 1).ToArray(), device: device));
    }

    /// <summary>A JSONL file; errors name the file and line.</summary>
    public static PreferenceDataset Load(string path, ITokenizer tokenizer, ChatTemplate template, int context, SftDataOptions options)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"preference data not found: {path}", path);
        return FromRows(path, File.ReadLines(path).Select((json, i) => ($"{path}:{i + 1}", json)), tokenizer, template, context, options);
    }

    /// <summary>
    /// Rows from any source (a file, the feedback store), each with where it comes from (<c>FILE:LINE</c>, or a store and
    /// its row id), which every error names.
    /// </summary>
    public static PreferenceDataset FromRows(string source, IEnumerable<(string Where, string Json)> rows, ITokenizer tokenizer, ChatTemplate template,
        int context, SftDataOptions options)
    {
        var reader = new SftDataset.Reader(source, tokenizer, template, context, options);
        var pairs = new List<PreferencePair>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? format = null;
        int index = 0, duplicates = 0;
        foreach (var (where, json) in rows)
        {
            reader.Line = ++index;
            if (string.IsNullOrWhiteSpace(json)) continue;
            try
            {
                if (JsonNode.Parse(json) is not JsonObject row) throw new SftDataset.SftLineException("not a JSON object");
                var (kind, prompt, chosen, rejected) = Fields(row);
                if (format is not null && kind != format) throw new SftDataset.SftLineException($"a {kind} pair in data of {format} pairs");
                format = kind;
                if (!seen.Add(row.ToJsonString())) { duplicates++; continue; }
                var c = Answer(reader, prompt, "chosen", chosen);
                var r = Answer(reader, prompt, "rejected", rejected);
                if (c is not null && r is not null) pairs.Add(new PreferencePair(c, r));
            }
            catch (Exception e) when (e is JsonException or SftDataset.SftLineException)
            {
                var message = e is SftDataset.SftLineException ? e.Message : $"not valid JSON ({e.Message})";
                if (!options.SkipBad) throw new InvalidDataException($"{where}: {message} (or pass --skip-bad to skip such rows)");
                reader.Skipped++;
            }
        }
        reader.ThrowIfUnknownCharacters();
        if (pairs.Count == 0) throw new InvalidDataException($"{source}: no usable preference pairs{(reader.Skipped > 0 ? $" ({reader.Skipped} rows skipped)" : "")}");
        int evalCount = options.EvalFraction > 0 && pairs.Count > 1 ? Math.Max(1, (int)Math.Round(pairs.Count * options.EvalFraction)) : 0;
        return new PreferenceDataset(format!, pairs.GetRange(0, pairs.Count - evalCount), pairs.GetRange(pairs.Count - evalCount, evalCount), reader.Skipped, duplicates);
    }

    // One answer with its prompt, read as a prompt-completion row; errors name the answer's own field.
    static SftExample? Answer(SftDataset.Reader reader, JsonNode prompt, string name, JsonNode answer)
    {
        try { return reader.Parse(new JsonObject { ["prompt"] = prompt.DeepClone(), ["completion"] = answer.DeepClone() }).Example; }
        catch (SftDataset.SftLineException e) { throw new SftDataset.SftLineException(e.Message.Replace("completion", name)); }
    }

    static (string Kind, JsonNode Prompt, JsonNode Chosen, JsonNode Rejected) Fields(JsonObject row)
    {
        static SftDataset.SftLineException Bad(string problem) => new(problem);
        if (row["chosen"] is not { } chosen || row["rejected"] is not { } rejected)
            throw Bad("expected 'prompt', 'chosen' and 'rejected'");
        if (row["prompt"] is not { } prompt)
            throw Bad("no 'prompt': give the shared prompt explicitly (TRL's implicit-prompt rows are not read)");
        var kind = prompt is JsonArray ? "conversational" : "standard";
        foreach (var (name, node) in new[] { ("chosen", chosen), ("rejected", rejected) })
            if (kind == "conversational" ? node is not JsonArray : node is not JsonValue)
                throw Bad(kind == "conversational"
                    ? $"'{name}' must be a list of messages, like the prompt"
                    : $"'{name}' must be a string, like the prompt");
        if (JsonNode.DeepEquals(chosen, rejected)) throw Bad("'chosen' and 'rejected' are the same answer");
        return (kind, prompt, chosen, rejected);
    }
}
