namespace GenSharp.Pipelines;

/// <summary>The conversation does not fit the model's context (OpenAI's <c>context_length_exceeded</c>).</summary>
public sealed class ContextLengthExceededException(string message, int promptTokens, int context) : ArgumentException(message)
{
    public int PromptTokens => promptTokens;
    public int Context => context;
}
