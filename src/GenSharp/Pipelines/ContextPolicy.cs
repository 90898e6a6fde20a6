namespace GenSharp.Pipelines;

/// <summary>What to do when a conversation does not fit the context with room for the reply.</summary>
public enum ContextPolicy
{
    /// <summary>Drop the oldest turns (never the system messages) until it fits: a chat session that goes on.</summary>
    DropOldestTurns,
    /// <summary>Refuse with <see cref="ContextLengthExceededException"/>: an API whose callers manage their own history (OpenAI's 400).</summary>
    Reject,
}
