using GenSharp.Rag.Index;
using GenSharp.Rag.Retrieval;
using Microsoft.Extensions.AI;

namespace GenSharp.Rag.Answering;

/// <summary>
/// Retrieve, assemble a grounded prompt, generate with any <see cref="IChatClient"/> (a GenSharp model in-process, any
/// OpenAI-compatible server) — or extract, without a model — and check the answer's citations against the sources given.
/// A generated answer that cites a source it was not given is refused (<see cref="UngroundedAnswerException"/>).
/// </summary>
public static class RagAnswerer
{
    /// <summary>Answers from BM25's chunks.</summary>
    public static Task<GroundedAnswer> AskAsync(IRagStore index, string question, IChatClient? chat, int k = 5, string collection = "default",
        string tenant = "", ChatOptions? options = null, CancellationToken cancel = default) =>
        AskAsync(new Retriever(index), SearchMode.Bm25, question, chat, k, collection, tenant, options, cancel);

    /// <summary>Answers from the chunks <paramref name="retriever"/> finds by <paramref name="mode"/>.</summary>
    public static async Task<GroundedAnswer> AskAsync(Retriever retriever, SearchMode mode, string question, IChatClient? chat, int k = 5,
        string collection = "default", string tenant = "", ChatOptions? options = null, CancellationToken cancel = default)
    {
        if (string.IsNullOrWhiteSpace(question)) throw new ArgumentException("the question is empty");
        var hits = await retriever.SearchAsync(question, k, mode, collection, tenant, cancel);
        if (hits.Count == 0) return new GroundedAnswer("", [], new Citations([], []), chat is null ? "extractive" : "generated");
        var (messages, given) = GroundedPrompt.Build(question, hits);
        if (chat is null)
        {
            var extract = ExtractiveAnswerer.Answer(question, given);
            return new GroundedAnswer(extract, given, Citations.Check(extract, given.Count), "extractive");
        }
        var response = await chat.GetResponseAsync(messages, options, cancel);
        var text = response.Text.Trim();
        var citations = Citations.Check(text, given.Count);
        if (citations.Invalid.Count > 0)
            throw new UngroundedAnswerException($"the answer cites {string.Join(", ", citations.Invalid.Select(n => $"[{n}]"))}, but only sources [1]–[{given.Count}] were given", text);
        return new GroundedAnswer(text, given, citations, "generated");
    }
}
