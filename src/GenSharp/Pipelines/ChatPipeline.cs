using GenSharp.Sampling;
using GenSharp.Tokenizers;

namespace GenSharp.Pipelines;

/// <summary>
/// Chat on top of <see cref="TextGenerationPipeline"/>: renders messages with the model's template, adds the
/// template's stop sequences, and drops the oldest turns (never the system message) when the conversation
/// no longer fits the context with room for the reply.
/// </summary>
public sealed class ChatPipeline(TextGenerationPipeline text, ChatTemplate template)
{
    public ChatTemplate Template => template;
    public TextGenerationPipeline Text => text;

    public IEnumerable<GenerationChunk> Stream(IReadOnlyList<ChatMessage> messages, GenerationOptions options, CancellationToken cancel = default) =>
        text.Stream(Prompt(messages, options), WithStops(options), cancel);

    public GenerationResult Complete(IReadOnlyList<ChatMessage> messages, GenerationOptions options, CancellationToken cancel = default) =>
        text.Generate(Prompt(messages, options), WithStops(options), cancel);

    GenerationOptions WithStops(GenerationOptions o) => WithStops(o, template);

    /// <summary>The options plus the template's stop sequences (the end of an assistant turn).</summary>
    public static GenerationOptions WithStops(GenerationOptions o, ChatTemplate template) =>
        o with { Stop = [.. (o.Stop ?? []).Concat(template.Stop).Distinct().Take(GenerationOptions.MaxStopSequences)] };

    /// <summary>The prompt actually sent: as many of the newest turns as fit in context − reserve, where reserve = min(max tokens, context / 2).</summary>
    public string Prompt(IReadOnlyList<ChatMessage> messages, GenerationOptions options)
    {
        if (messages.Count == 0) throw new ArgumentException("the conversation has no messages");
        if (messages[^1].Role != "user") throw new ArgumentException($"the last message must be from the user (got '{messages[^1].Role}')");
        int context = text.Model.Config.MaxPositions;
        int budget = context - Math.Min(options.MaxTokens, context / 2);
        var system = messages.Where(m => m.Role == "system").ToList();
        var turns = messages.Where(m => m.Role != "system").ToList();
        for (int drop = 0; drop < turns.Count; drop++)
        {
            var prompt = template.Render([.. system, .. turns.Skip(drop)]);
            if (text.Tokenizer.Encode(prompt).Length <= budget) return prompt;
        }
        throw new ArgumentException($"the last message does not fit the model's context of {context} tokens with room for a reply; shorten it");
    }
}
