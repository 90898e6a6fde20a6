namespace GenSharp.Server.Api.OpenAi;

/// <summary>One chosen token of a chat completion with its log-probability and the most likely alternatives (<c>logprobs.content[]</c>).</summary>
public sealed record TokenLogprob(string Token, double Logprob, int[] Bytes, TokenLogprob.Alternative[] TopLogprobs)
{
    public sealed record Alternative(string Token, double Logprob, int[] Bytes);

    public static TokenLogprob From(Sampling.TokenLogprob lp) =>
        new(lp.Text, lp.Logprob, Utf8(lp.Text), [.. lp.Top.Select(t => new Alternative(t.Text, t.Logprob, Utf8(t.Text)))]);

    /// <summary>UTF-8 bytes of a token's text, as OpenAI reports them.</summary>
    public static int[] Utf8(string text) => [.. System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b)];
}
