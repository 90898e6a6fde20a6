using GenSharp.Sampling;
using GenSharp.Tokenizers;

namespace GenSharp.Pipelines;

/// <summary>
/// The one chat path from messages to prompt tokens: checks the conversation, renders it with the model's template, encodes
/// it, applies the context policy, and adds the template's stop sequences. <c>gensharp chat</c>, the server and
/// <c>IChatClient</c> all go through it, so a conversation is treated the same way everywhere.
/// </summary>
public sealed class ChatFormat(ChatTemplate template, ITokenizer tokenizer, int context)
{
    public ChatTemplate Template => template;
    public int Context => context;

    /// <summary>
    /// The prompt for <paramref name="messages"/> with at least <paramref name="reserve"/> tokens of the context left for the
    /// reply. Errors name the message: an unknown role, an empty conversation, a last message not from the user.
    /// </summary>
    public ChatPrompt Encode(IReadOnlyList<ChatMessage> messages, int reserve, ContextPolicy policy)
    {
        Validate(messages);
        if (reserve < 1 || reserve >= context) reserve = Math.Clamp(reserve, 1, context - 1);
        int budget = context - reserve;
        var system = messages.Where(m => m.Role == "system").ToList();
        var turns = messages.Where(m => m.Role != "system").ToList();
        int fullLength = 0;
        for (int drop = 0; drop < (policy == ContextPolicy.DropOldestTurns ? turns.Count : 1); drop++)
        {
            var text = template.Render([.. system, .. turns.Skip(drop)]);
            var ids = GenerationEngine.EncodePrompt(tokenizer, text, int.MaxValue);   // unknown characters and bad Unicode are named here
            if (drop == 0) fullLength = ids.Length;
            if (ids.Length <= budget) return new ChatPrompt(text, ids, drop);
        }
        throw new ContextLengthExceededException(policy == ContextPolicy.Reject
            ? $"the conversation is {fullLength} tokens; with {reserve} for the reply this model's context of {context} tokens holds at most {budget}"
            : $"the last message does not fit the model's context of {context} tokens with room for a reply ({reserve} tokens); shorten it",
            fullLength, context);
    }

    /// <summary>The options plus the template's stop sequences (the end of an assistant turn).</summary>
    public GenerationOptions WithStops(GenerationOptions options) =>
        options with { Stop = [.. (options.Stop ?? []).Concat(template.Stop).Distinct().Take(GenerationOptions.MaxStopSequences)] };

    /// <summary>A conversation the template can render: messages with known roles, the last one from the user.</summary>
    public void Validate(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 0) throw new ArgumentException("the conversation has no messages");
        for (int i = 0; i < messages.Count; i++)
            if (!template.Roles.ContainsKey(messages[i].Role))
                throw new ArgumentException($"messages[{i}].role '{messages[i].Role}' is not one this model's template knows ({string.Join(", ", template.Roles.Keys)})");
        if (messages[^1].Role != "user") throw new ArgumentException($"the last message must be from the user (got '{messages[^1].Role}')");
    }
}
