using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Numerics;
using GenSharp.Tokenizers;
using static TorchSharp.torch;

namespace GenSharp.Data;

/// <summary>
/// Fine-tuning data in TRL's formats, tokenized with a loss mask:
/// <list type="bullet">
/// <item>plain text (a file or folder that is not JSONL): continued pretraining, every token a target;</item>
/// <item>JSONL <c>{"text"}</c>: the same, one document per line;</item>
/// <item>JSONL <c>{"prompt", "completion"}</c> (strings, or lists of messages): the loss is on the completion only;</item>
/// <item>JSONL <c>{"messages": [{"role", "content"}, …]}</c>: rendered with the model's chat template, the loss on the
/// assistant turns only (their text and the template's end of turn, so the model learns to stop).</item>
/// </list>
/// The last <see cref="SftDataOptions.EvalFraction"/> of the examples is held out. Bad lines are errors naming file and
/// line, or with <see cref="SftDataOptions.SkipBad"/> counted and skipped; characters the tokenizer lacks are listed
/// together (with where they first occur), with the way to add them.
/// </summary>
public sealed class SftDataset
{
    public const int IgnoreIndex = -100;   // cross_entropy's ignore_index: positions that are not targets

    SftDataset(string format, List<SftExample> train, List<SftExample> eval, int skipped) =>
        (Format, Train, Eval, Skipped) = (format, train, eval, skipped);

    /// <summary>text, prompt-completion or messages.</summary>
    public string Format { get; }
    public IReadOnlyList<SftExample> Train { get; }
    public IReadOnlyList<SftExample> Eval { get; }
    /// <summary>Lines left out under <see cref="SftDataOptions.SkipBad"/>.</summary>
    public int Skipped { get; }

    /// <summary>The characters of the data (and of the chat template's text) that <paramref name="tokenizer"/> cannot encode, in order.</summary>
    public static IReadOnlyList<string> MissingCharacters(string path, ITokenizer tokenizer, ChatTemplate template, int context, SftDataOptions options)
    {
        var reader = new Reader(path, tokenizer, template, context, options with { SkipBad = true });
        bool jsonl = File.Exists(path) && (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".json", StringComparison.OrdinalIgnoreCase));
        if (jsonl) reader.ReadJsonl(); else reader.ReadText();
        foreach (var text in template.Roles.Values) reader.Scan(text.Replace("{content}", ""));
        return reader.Unknown;
    }

    public static SftDataset Load(string path, ITokenizer tokenizer, ChatTemplate template, int context, SftDataOptions options)
    {
        bool jsonl = File.Exists(path) && (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".json", StringComparison.OrdinalIgnoreCase));
        var reader = new Reader(path, tokenizer, template, context, options);
        var (format, examples) = jsonl ? reader.ReadJsonl() : ("text", reader.ReadText());
        reader.ThrowIfUnknownCharacters();
        if (examples.Count == 0) throw new InvalidDataException($"{path}: no usable examples{(reader.Skipped > 0 ? $" ({reader.Skipped} lines skipped)" : "")}");
        int evalCount = options.EvalFraction > 0 && examples.Count > 1 ? Math.Max(1, (int)Math.Round(examples.Count * options.EvalFraction)) : 0;
        var train = examples.GetRange(0, examples.Count - evalCount);
        var eval = examples.GetRange(examples.Count - evalCount, evalCount);
        if (options.Packing) train = Pack(train, context);
        return new SftDataset(format, train, eval, reader.Skipped);
    }

    /// <summary>
    /// One prompt-completion row (strings, or lists of messages) tokenized exactly as training reads it — what a reward
    /// model scores at inference; bad input is an <see cref="InvalidDataException"/> naming <paramref name="source"/>.
    /// </summary>
    public static SftExample Encode(JsonNode prompt, JsonNode completion, ITokenizer tokenizer, ChatTemplate template, int context, string source)
    {
        var reader = new Reader(source, tokenizer, template, context, new SftDataOptions());
        try
        {
            var example = reader.Parse(new JsonObject { ["prompt"] = prompt.DeepClone(), ["completion"] = completion.DeepClone() }).Example;
            reader.ThrowIfUnknownCharacters();
            return example!;
        }
        catch (SftLineException e) { throw new InvalidDataException($"{source}: {e.Message}"); }
    }

    // Concatenated into windows of context + 1 tokens (inputs and shifted targets), masks kept (TRL's packing).
    static List<SftExample> Pack(List<SftExample> examples, int context)
    {
        var tokens = examples.SelectMany(e => e.Tokens).ToArray();
        var train = examples.SelectMany(e => e.Train).ToArray();
        var packed = new List<SftExample>();
        for (int s = 0; s + 1 < tokens.Length; s += context)
        {
            int n = Math.Min(context + 1, tokens.Length - s);
            packed.Add(new SftExample(tokens[s..(s + n)], train[s..(s + n)]));
        }
        return packed;
    }

    /// <summary>
    /// Inputs (B, T) and targets (B, T) for a batch: training batches are examples drawn as a function of (seed, step);
    /// evaluation batch <paramref name="step"/> is the step-th run of consecutive held-out examples. Shorter examples are
    /// padded (target <see cref="IgnoreIndex"/>); targets that are not trained on are <see cref="IgnoreIndex"/> too.
    /// </summary>
    public (Tensor Input, Tensor Target) Batch(bool eval, int batchSize, long seed, long step, Device device)
    {
        var pool = eval ? Eval : Train;
        if (pool.Count == 0) throw new InvalidOperationException($"the {(eval ? "evaluation" : "training")} split is empty");
        var picked = Enumerable.Range(0, batchSize).Select(b => pool[eval
            ? (int)((step * batchSize + b) % pool.Count)
            : (int)(SplitMix64.Hash((ulong)seed, (ulong)step, (ulong)b, 0x5F7) % (ulong)pool.Count)]).ToArray();
        return Layout(picked, device);
    }

    /// <summary>
    /// Inputs (N, T) and next-token targets (N, T) of examples: padded on the right, targets <see cref="IgnoreIndex"/>
    /// wherever the next token is not trained on (prompts, user turns, padding).
    /// </summary>
    public static (Tensor Input, Tensor Target) Layout(IReadOnlyList<SftExample> examples, Device device)
    {
        int n = examples.Count, T = examples.Max(e => e.Tokens.Length) - 1;
        var input = new long[n * T];
        var target = new long[n * T];
        Array.Fill(target, IgnoreIndex);
        for (int b = 0; b < n; b++)
        {
            var e = examples[b];
            for (int t = 0; t + 1 < e.Tokens.Length; t++)
            {
                input[b * T + t] = e.Tokens[t];
                if (e.Train[t + 1]) target[b * T + t] = e.Tokens[t + 1];
            }
        }
        return (tensor(input, device: device).view(n, T), tensor(target, device: device).view(n, T));
    }

    // Also reads each answer of a preference pair (PreferenceDataset) as a prompt-completion row.
    internal sealed class Reader(string path, ITokenizer tokenizer, ChatTemplate template, int context, SftDataOptions options)
    {
        readonly SortedDictionary<string, int> _unknown = new(StringComparer.Ordinal);   // character → first line
        public int Skipped;
        int _line;

        /// <summary>The line being read, for the first occurrence of each unknown character.</summary>
        public int Line { set => _line = value; }

        /// <summary>One row of any format; a bad row throws <see cref="SftLineException"/>, unknown characters give a null example.</summary>
        public (string Kind, SftExample? Example) Parse(JsonObject row) => Example(row);

        public IReadOnlyList<string> Unknown => [.. _unknown.Keys];

        public void Scan(string text) => Encode(text, out _);

        public List<SftExample> ReadText()
        {
            var text = TextCorpus.Read(path, "fine-tuning data");
            var ids = Encode(text, out var ok);
            if (!ok) return [];
            var examples = new List<SftExample>();
            for (int s = 0; s + 1 < ids.Length; s += context)
            {
                var window = ids[s..Math.Min(ids.Length, s + context + 1)];
                examples.Add(new SftExample(window, Enumerable.Repeat(true, window.Length).ToArray()));
            }
            return examples;
        }

        public (string Format, List<SftExample> Examples) ReadJsonl()
        {
            var examples = new List<SftExample>();
            string? format = null;
            foreach (var line in File.ReadLines(path))
            {
                _line++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    if (JsonNode.Parse(line) is not JsonObject row) throw Bad("not a JSON object");
                    var (kind, example) = Example(row);
                    if (format is not null && kind != format) throw Bad($"a {kind} example in a file of {format} examples");
                    format = kind;
                    if (example is not null) examples.Add(example);
                }
                catch (Exception e) when (e is JsonException or SftLineException)
                {
                    var message = e is SftLineException ? e.Message : $"not valid JSON ({e.Message})";
                    if (!options.SkipBad) throw new InvalidDataException($"{path}:{_line}: {message} (or pass --skip-bad to skip such lines)");
                    Skipped++;
                }
            }
            return (format ?? "messages", examples);
        }

        SftLineException Bad(string problem) => new(problem);

        (string Kind, SftExample? Example) Example(JsonObject row)
        {
            if (row["messages"] is { } messages) return ("messages", Conversation(Messages(messages, "messages"), trainFrom: 0));
            if (row["prompt"] is { } prompt)
            {
                var completion = row["completion"] ?? throw Bad("'prompt' without 'completion'");
                if (prompt is JsonArray && completion is JsonArray)
                {
                    var p = Messages(prompt, "prompt");
                    return ("prompt-completion", Conversation([.. p, .. Messages(completion, "completion")], trainFrom: p.Count));
                }
                var (ps, cs) = (Text(prompt, "prompt"), Text(completion, "completion"));
                var pi = Encode(ps, out var ok1);
                var ci = Encode(cs, out var ok2);
                if (!ok1 || !ok2) return ("prompt-completion", null);
                if (ci.Length == 0) throw Bad("'completion' is empty");
                return ("prompt-completion", Fit(new SftExample([.. pi, .. ci], [.. Enumerable.Repeat(false, pi.Length), .. Enumerable.Repeat(true, ci.Length)])));
            }
            if (row["text"] is { } text)
            {
                var ids = Encode(Text(text, "text"), out var ok);
                return ("text", ok ? Fit(new SftExample(ids, Enumerable.Repeat(true, ids.Length).ToArray())) : null);
            }
            throw Bad("expected 'messages', 'prompt' and 'completion', or 'text'");
        }

        string Text(JsonNode node, string field) =>
            node is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Bad($"'{field}' must be a string");

        List<ChatMessage> Messages(JsonNode node, string field)
        {
            if (node is not JsonArray array) throw Bad($"'{field}' must be a list of messages");
            if (array.Count == 0) throw Bad($"'{field}' is an empty conversation");
            var list = new List<ChatMessage>();
            for (int i = 0; i < array.Count; i++)
            {
                if (array[i] is not JsonObject m) throw Bad($"{field}[{i}] must be an object with role and content");
                var role = m["role"] is JsonValue r && r.TryGetValue<string>(out var rs) ? rs : throw Bad($"{field}[{i}] has no role");
                if (!ChatTemplate.KnownRoles.Contains(role)) throw Bad($"{field}[{i}].role '{role}' is not system, user or assistant");
                if (m["content"] is not JsonValue c || !c.TryGetValue<string>(out var content)) throw Bad($"{field}[{i}] has no content (a string)");
                list.Add(new ChatMessage(role, content));
            }
            return list;
        }

        // Rendered piece by piece so each token knows whether it is a target: an assistant turn's text and end of turn
        // are (from message trainFrom on); role prefixes, system and user turns are not.
        SftExample? Conversation(List<ChatMessage> messages, int trainFrom)
        {
            if (options.System is { } system && messages[0].Role != "system") { messages.Insert(0, new ChatMessage("system", system)); trainFrom++; }
            if (!messages.Skip(trainFrom).Any(m => m.Role == "assistant")) throw Bad("no assistant message to learn from");
            if (template.Jinja is not null) return JinjaConversation(messages, trainFrom);
            var tokens = new List<int>();
            var train = new List<bool>();
            bool ok = true;
            for (int i = 0; i < messages.Count; i++)
            {
                var m = messages[i];
                if (!template.Roles.TryGetValue(m.Role, out var format)) throw Bad($"the chat template has no format for role '{m.Role}'");
                int at = format.IndexOf("{content}", StringComparison.Ordinal);
                bool target = m.Role == "assistant" && i >= trainFrom;
                foreach (var (piece, learn) in new[] { (format[..at], false), (m.Content, target), (format[(at + 9)..], target) })
                {
                    var ids = Encode(piece, out var pieceOk);
                    ok &= pieceOk;
                    tokens.AddRange(ids);
                    train.AddRange(Enumerable.Repeat(learn, ids.Length));
                }
            }
            return ok ? Fit(new SftExample([.. tokens], [.. train])) : null;
        }

        // A Jinja template has no per-role formats, so the conversation is rendered prefix by prefix: an assistant message's
        // target is what rendering messages 1…i adds to rendering messages 1…i−1 with the generation prompt — its content
        // and end of turn. The whole text is tokenized once, as inference does, and a character boundary falls after the
        // tokens the text up to it shares with the whole (a token merged across a boundary goes to the later span).
        SftExample? JinjaConversation(List<ChatMessage> messages, int trainFrom)
        {
            string Render(int count, bool generationPrompt)
            {
                try { return template.Render(messages.Take(count), generationPrompt); }
                catch (Exception e) when (e is ArgumentException or InvalidDataException or InvalidOperationException)
                { throw Bad($"the chat template refuses the conversation: {e.Message}"); }
            }
            var full = Render(messages.Count, false);
            var ids = Encode(full, out bool ok);
            if (!ok) return null;
            int TokensBefore(int chars)
            {
                var prefix = tokenizer.Encode(full[..chars]);
                int n = 0;
                while (n < prefix.Length && n < ids.Length && prefix[n] == ids[n]) n++;
                return n;
            }
            var train = new bool[ids.Length];
            for (int i = trainFrom; i < messages.Count; i++)
            {
                if (messages[i].Role != "assistant") continue;
                string before = Render(i, true), through = Render(i + 1, false);
                if (!through.StartsWith(before, StringComparison.Ordinal) || !full.StartsWith(through, StringComparison.Ordinal))
                    throw Bad($"the chat template does not render message {i + 1} as an extension of the messages before it, so its tokens cannot be told apart; use prompt/completion rows");
                for (int t = TokensBefore(before.Length), end = TokensBefore(through.Length); t < end; t++) train[t] = true;
            }
            return Fit(new SftExample(ids, train));
        }

        SftExample Fit(SftExample e)
        {
            if (e.Tokens.Length > context + 1)
                throw Bad($"the example is {e.Tokens.Length} tokens; the model's context holds {context} (+1 for the last target)");
            if (e.Tokens.Length < 2) throw Bad("the example has fewer than 2 tokens");
            return e;
        }

        int[] Encode(string text, out bool ok)
        {
            try
            {
                ok = true;
                return tokenizer.Encode(text);
            }
            catch (ArgumentException)
            {
                // Find every character the tokenizer lacks, so one error can name them all.
                foreach (var rune in text.EnumerateRunes())
                {
                    var s = rune.ToString();
                    try { tokenizer.Encode(s); }
                    catch (ArgumentException) { _unknown.TryAdd(s, _line); }
                }
                ok = false;
                return [];
            }
        }

        public void ThrowIfUnknownCharacters()
        {
            if (_unknown.Count == 0) return;
            string Show(string c) => $"'{(c == "\n" ? "\\n" : c)}' (U+{char.ConvertToUtf32(c, 0):X4}{(_line > 0 && _unknown[c] > 0 ? $", line {_unknown[c]}" : "")})";
            var list = string.Join(", ", _unknown.Keys.Take(20).Select(Show)) + (_unknown.Count > 20 ? $", … ({_unknown.Count} in all)" : "");
            throw new InvalidDataException($"{path}: {_unknown.Count} character(s) are not in the model's vocabulary: {list}; pass --extend-vocab to add them");
        }
    }

    internal sealed class SftLineException(string message) : Exception(message);
}
