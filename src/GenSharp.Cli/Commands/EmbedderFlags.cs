using System.CommandLine;
using GenSharp.Rag.Index;
using GenSharp.Rag.Retrieval;

namespace GenSharp.Cli.Commands;

/// <summary>
/// Which embedder makes an index's vectors: a GenSharp embedder directory (<c>--embedder</c>) or an OpenAI-compatible
/// embeddings endpoint (<c>--embedding-endpoint</c> + <c>--embedding-model</c>). Without either, the one the index records
/// is opened again, so <c>rag search --mode hybrid</c> needs no flags after <c>rag embed</c>.
/// </summary>
sealed class EmbedderFlags
{
    const string Remote = "openai:";
    public readonly Option<string?> Dir = Cli.Opt<string?>("--embedder", "A GenSharp embedder (gensharp train embedder) for the vectors");
    public readonly Option<string?> Endpoint = Cli.Opt<string?>("--embedding-endpoint", "An OpenAI-compatible server for the vectors (e.g. http://127.0.0.1:8080/v1; key in OPENAI_API_KEY)");
    public readonly Option<string?> Model = Cli.Opt<string?>("--embedding-model", "The embedding model's name on --embedding-endpoint");

    public Option[] Options => [Dir, Endpoint, Model];

    /// <summary>The embedder the flags name, else the index's own (null when it has none).</summary>
    public IndexEmbedder? Resolve(ParseResult r, IRagStore index)
    {
        if (r.GetValue(Dir) is not null && r.GetValue(Endpoint) is not null) throw new UserError("pass --embedder or --embedding-endpoint, not both");
        if (r.GetValue(Dir) is { } dir) return IndexEmbedder.Open(dir);
        if (r.GetValue(Endpoint) is { } url)
            return OpenRemote(url, r.GetValue(Model) ?? throw new UserError("--embedding-endpoint needs --embedding-model (the model's name on that server)"));
        return Recorded(index);
    }

    /// <summary>The embedder an index records, opened again (null when the index has no vectors).</summary>
    public static IndexEmbedder? Recorded(IRagStore index)
    {
        if (index.Embedder is not { } recorded) return null;
        if (IndexEmbedder.Directory(recorded.Id) is { } path)
        {
            if (!Directory.Exists(path)) throw new UserError($"the index's embedder {path} is gone; pass --embedder DIR (and re-embed with gensharp rag embed)");
            var local = IndexEmbedder.Open(path);
            return local.Id == recorded.Id ? local
                : throw new UserError($"the embedder in {path} changed since the index was embedded; re-embed with gensharp rag embed --index DIR --embedder {path}");
        }
        var at = recorded.Id.LastIndexOf('#');
        return OpenRemote(recorded.Id[Remote.Length..at], recorded.Id[(at + 1)..]);
    }

    static IndexEmbedder OpenRemote(string url, string model)
    {
        var client = new OpenAI.OpenAIClient(new System.ClientModel.ApiKeyCredential(Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "none"),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(url) });
        return new IndexEmbedder(Microsoft.Extensions.AI.OpenAIClientExtensions.AsIEmbeddingGenerator(client.GetEmbeddingClient(model)), $"{Remote}{url}#{model}");
    }
}
