using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Numerics;
using GenSharp.Tokenizers;

namespace GenSharp.Data;

/// <summary>
/// Prompts for reinforcement learning (TRL's GRPO dataset): JSONL rows <c>{"prompt": "…" | [messages], "answer": "…"}</c>;
/// a message list is rendered with the chat template and its generation prompt, and <c>answer</c> (optional) is what a
/// checkable reward compares with. Bad rows are errors naming file and line; the last fraction is held out.
/// </summary>
public sealed class PromptDataset
{
    PromptDataset(List<PromptExample> train, List<PromptExample> eval) => (Train, Eval) = (train, eval);

    public IReadOnlyList<PromptExample> Train { get; }
    public IReadOnlyList<PromptExample> Eval { get; }

    public static PromptDataset Load(string path, ITokenizer tokenizer, ChatTemplate template, int maxPromptTokens, double evalFraction)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"prompts not found: {path}", path);
        var rows = new List<PromptExample>();
        int line = 0;
        foreach (var json in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(json)) continue;
            string Where() => $"{path}:{line}";
            JsonNode? node;
            try { node = JsonNode.Parse(json); }
            catch (JsonException e) { throw new InvalidDataException($"{Where()}: not valid JSON ({e.Message})"); }
            if (node is not JsonObject row || row["prompt"] is not { } prompt) throw new InvalidDataException($"{Where()}: expected an object with 'prompt'");
            string text = prompt switch
            {
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                JsonArray messages => template.Render(Messages(messages, Where), addGenerationPrompt: true),
                _ => throw new InvalidDataException($"{Where()}: 'prompt' must be a string or a list of messages"),
            };
            string? answer = row["answer"] switch
            {
                null => null,
                JsonValue a when a.TryGetValue<string>(out var s) => s,
                JsonValue a => a.ToJsonString(),   // a number: its JSON text
                _ => throw new InvalidDataException($"{Where()}: 'answer' must be a string or a number"),
            };
            int[] ids;
            try { ids = tokenizer.Encode(text); }
            catch (ArgumentException e) { throw new InvalidDataException($"{Where()}: {e.Message}"); }
            if (ids.Length == 0) throw new InvalidDataException($"{Where()}: the prompt is empty");
            if (ids.Length > maxPromptTokens) throw new InvalidDataException($"{Where()}: the prompt is {ids.Length} tokens; at most {maxPromptTokens} leave room for the completion");
            rows.Add(new PromptExample(text, ids, answer));
        }
        if (rows.Count == 0) throw new InvalidDataException($"{path}: no prompts");
        int evalCount = evalFraction > 0 && rows.Count > 1 ? Math.Max(1, (int)Math.Round(rows.Count * evalFraction)) : 0;
        return new PromptDataset(rows.GetRange(0, rows.Count - evalCount), rows.GetRange(rows.Count - evalCount, evalCount));
    }

    static List<ChatMessage> Messages(JsonArray array, Func<string> where)
    {
        var list = new List<ChatMessage>();
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject m || m["role"] is not JsonValue r || !r.TryGetValue<string>(out var role)
                || m["content"] is not JsonValue c || !c.TryGetValue<string>(out var content))
                throw new InvalidDataException($"{where()}: prompt[{i}] must be an object with a role and content (strings)");
            if (!ChatTemplate.KnownRoles.Contains(role)) throw new InvalidDataException($"{where()}: prompt[{i}].role '{role}' is not system, user or assistant");
            list.Add(new ChatMessage(role, content));
        }
        return list.Count > 0 ? list : throw new InvalidDataException($"{where()}: 'prompt' is an empty conversation");
    }

    /// <summary>The training prompts of step <paramref name="step"/>, drawn as a function of (seed, step).</summary>
    public PromptExample[] Draw(int count, long seed, long step) =>
        [.. Enumerable.Range(0, count).Select(b => Train[(int)(SplitMix64.Hash((ulong)seed, (ulong)step, (ulong)b, 0x6A0) % (ulong)Train.Count)])];
}
