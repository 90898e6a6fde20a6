using GenSharp.Sampling;
using GenSharp.Tokenizers;

namespace GenSharp.Pipelines;

/// <summary>
/// Chat on top of <see cref="TextGenerationPipeline"/> through the one chat path (<see cref="ChatFormat"/>): the model's
/// template, its stop sequences, and a context policy — by default the oldest turns (never the system message) are
/// dropped when the conversation no longer fits with room for the reply, min(max tokens, context / 2).
/// </summary>
public sealed class ChatPipeline(TextGenerationPipeline text, ChatTemplate template, ContextPolicy policy = ContextPolicy.DropOldestTurns)
{
    readonly ChatFormat _format = new(template, text.Tokenizer, text.Model.Config.MaxPositions);

    public ChatTemplate Template => template;
    public TextGenerationPipeline Text => text;
    public ChatFormat Format => _format;
    public ContextPolicy Policy => policy;

    public IEnumerable<GenerationChunk> Stream(IReadOnlyList<ChatMessage> messages, GenerationOptions options, CancellationToken cancel = default) =>
        text.Stream(Prompt(messages, options), _format.WithStops(options), cancel);

    public GenerationResult Complete(IReadOnlyList<ChatMessage> messages, GenerationOptions options, CancellationToken cancel = default) =>
        text.Generate(Prompt(messages, options), _format.WithStops(options), cancel);

    /// <summary>The prompt actually sent under this pipeline's context policy.</summary>
    public string Prompt(IReadOnlyList<ChatMessage> messages, GenerationOptions options) =>
        _format.Encode(messages, Math.Min(options.MaxTokens, _format.Context / 2), policy).Text;
}
