using System.Runtime.CompilerServices;
using GenSharp.Pipelines;
using GenSharp.Sampling;
using Microsoft.Extensions.AI;
using GsChatMessage = GenSharp.Tokenizers.ChatMessage;

namespace GenSharp.Extensions.AI;

/// <summary>
/// A local GenSharp chat model as a Microsoft.Extensions.AI <see cref="IChatClient"/>, so an app written against
/// hosted models runs on it in-process. Maps ChatOptions (temperature, top-p, top-k, max tokens, seed, stops,
/// penalties) onto <see cref="GenerationOptions"/>; text content only.
/// </summary>
public sealed class GenSharpChatClient(ChatPipeline chat, string modelId) : IChatClient
{
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (prompt, o) = (Convert(messages), Options(options));
        var result = await Task.Run(() => chat.Complete(prompt, o, cancellationToken), cancellationToken).ConfigureAwait(false);
        var choice = result.Choices[0];
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, choice.Text))
        {
            ModelId = modelId, FinishReason = Finish(choice.Finish), CreatedAt = DateTimeOffset.UtcNow,
            Usage = new UsageDetails { InputTokenCount = result.Usage.PromptTokens, OutputTokenCount = result.Usage.CompletionTokens, TotalTokenCount = result.Usage.TotalTokens },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (prompt, o) = (Convert(messages), Options(options));
        var id = Guid.NewGuid().ToString("N");
        using var chunks = chat.Stream(prompt, o, cancellationToken).GetEnumerator();
        while (await Task.Run(chunks.MoveNext, cancellationToken).ConfigureAwait(false))   // each decode step on the pool, in its own scope
        {
            var c = chunks.Current;
            yield return new ChatResponseUpdate(ChatRole.Assistant, c.Text)
            {
                ResponseId = id, ModelId = modelId, FinishReason = c.Finish is { } f ? Finish(f) : null,
            };
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("gensharp", null, modelId)
        : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }

    static List<GsChatMessage> Convert(IEnumerable<ChatMessage> messages) =>
        messages.Select(m => new GsChatMessage(m.Role == ChatRole.System ? "system" : m.Role == ChatRole.Assistant ? "assistant"
            : m.Role == ChatRole.User ? "user" : throw new ArgumentException($"role '{m.Role}' is not supported (system, user, assistant)"), m.Text)).ToList();

    GenerationOptions Options(ChatOptions? o)
    {
        var d = new GenerationOptions();
        if (o is null) return d with { MaxTokens = 256 };
        return new GenerationOptions
        {
            MaxTokens = o.MaxOutputTokens ?? 256, Temperature = o.Temperature ?? d.Temperature, TopP = o.TopP ?? d.TopP, TopK = o.TopK ?? 0,
            Seed = o.Seed, Stop = o.StopSequences?.ToArray(), PresencePenalty = o.PresencePenalty ?? 0, FrequencyPenalty = o.FrequencyPenalty ?? 0,
        }.Validate();
    }

    static ChatFinishReason Finish(FinishReason f) => f == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
}
