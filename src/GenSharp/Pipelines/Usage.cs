namespace GenSharp.Pipelines;

/// <summary>Token counts of a request (completion counts every sampled token, an EOS too).</summary>
public sealed record Usage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}
