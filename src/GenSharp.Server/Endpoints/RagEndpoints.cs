using GenSharp.Pipelines;
using GenSharp.Rag.Answering;
using GenSharp.Rag.Retrieval;
using GenSharp.Server.Api;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Server.Hosting;
using GenSharp.Tokenizers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace GenSharp.Server.Endpoints;

/// <summary>
/// Answers from the served documents (a GenSharp extension; the playground's "Answer from documents"):
/// <c>GET /v1/rag</c> says whether the server has documents; <c>POST /v1/rag/answers</c> retrieves, builds the grounded
/// prompt from as many of the k sources as fit the model's context, generates through the model's own chat path, and returns the answer with its numbered sources — an answer that
/// cites a source it was not given is refused (422); <c>GET /v1/rag/documents?source=PATH</c> returns a source file, and only
/// a file the served collection and tenant hold.
/// </summary>
static class RagEndpoints
{
    public const int MaxK = 20, MaxQuestion = 4000;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/rag", Status);
        app.MapPost("/v1/rag/answers", Answer);
        app.MapGet("/v1/rag/documents", Document);
    }

    static RagService? Service(HttpContext ctx) => ctx.RequestServices.GetService<RagService>();

    static RagService Require(HttpContext ctx) =>
        Service(ctx) ?? throw ApiException.NotFound("this server has no documents (start it with --rag-index DIR or --rag-store URL)");

    static IResult Status(HttpContext ctx)
    {
        if (Service(ctx) is not { } rag) return Results.Json(new { @object = "rag", enabled = false });
        var (files, chunks) = rag.Store.Count(rag.Collection, rag.Tenant);
        return Results.Json(new { @object = "rag", enabled = true, collection = rag.Collection, files, chunks, mode = rag.DefaultMode.ToString().ToLowerInvariant() });
    }

    static async Task Answer(HttpContext ctx, ModelRegistry models)
    {
        var rag = Require(ctx);
        var cancel = ctx.RequestAborted;
        using var req = await JsonRequest.ReadAsync(ctx.Request, cancel);
        var question = req.RequiredString("question").Trim();
        if (question.Length is 0 or > MaxQuestion) throw ApiException.BadRequest($"'question' must be 1…{MaxQuestion} characters", "question");
        int k = req.Integer("k", 1, MaxK) ?? 5;
        SearchMode mode;
        try { mode = req.OptionalString("mode") is { } name ? Retriever.ParseMode(name) : rag.DefaultMode; }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message, "mode"); }
        var request = RequestReader.Sampling(req, new ChatCompletionRequest { Messages = [] });
        if (request.Stream == true) throw ApiException.BadRequest("answers are checked for their citations whole: 'stream' is not supported here", "stream");
        if (request.N is > 1) throw ApiException.BadRequest("'n' must be 1 for answers", "n");
        var route = TextGeneration.Model(request.Model, models);

        IReadOnlyList<Rag.Index.SearchHit> hits;
        try { hits = await rag.Retriever.SearchAsync(question, k, mode, rag.Collection, rag.Tenant, cancel); }
        catch (InvalidOperationException e) { throw ApiException.BadRequest(e.Message, "mode"); }
        // As many of the retrieved sources as fit the model's context with room for the answer, best first.
        var model = route.Worker;
        int reserve = request.MaxCompletionTokens ?? request.MaxTokens ?? 1;
        IReadOnlyList<Rag.Index.SearchHit> given = [];
        ChatPrompt? prompt = null;
        for (int n = hits.Count; n > 0 && prompt is null; n--)
        {
            var (messages, sources) = GroundedPrompt.Build(question, [.. hits.Take(n)]);
            try { prompt = model.Chat.Encode([.. messages.Select(m => new ChatMessage(m.Role.Value, m.Text))], reserve, ContextPolicy.Reject); }
            catch (ContextLengthExceededException) when (n > 1) { continue; }
            catch (ContextLengthExceededException e) { throw TextGeneration.ContextLengthExceeded(e.Message + "; even one source does not fit this model's context", "question"); }
            given = sources;
        }
        string answer = "";
        int promptTokens = 0, completionTokens = 0;
        if (prompt is not null)
        {
            var options = model.Chat.WithStops(TextGeneration.Options(request, model, prompt.Tokens.Length, false, 0, "question"));
            var seq = (await TextGeneration.Collect(TextGeneration.Submit(route, prompt.Tokens, options, cancel), cancel))[0];
            (answer, promptTokens, completionTokens) = (seq.Text.Trim(), prompt.Tokens.Length, seq.Tokens.Count);
        }
        var citations = Citations.Check(answer, given.Count);
        if (citations.Invalid.Count > 0)
            throw new ApiException(422, $"the answer cites {string.Join(", ", citations.Invalid.Select(n => $"[{n}]"))}, but only sources [1]–[{given.Count}] were given: refused",
                "question", code: "ungrounded_answer");
        await ctx.Response.WriteAsJsonAsync(new
        {
            id = TextGeneration.NewId("rag"), @object = "rag.answer", created = TextGeneration.Now(), model = route.Name,
            mode = mode.ToString().ToLowerInvariant(), answer,
            sources = given.Select((h, i) => new
            {
                n = i + 1, source = h.Source, heading = h.Heading, page = h.Page, text = h.Text, score = h.Score,
                cited = citations.Cited.Contains(i + 1), url = "/v1/rag/documents?source=" + Uri.EscapeDataString(h.Source),
            }),
            usage = new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens },
        }, cancel);
    }

    // Only files the served collection and tenant hold: the index is the allow-list, so no path can reach anything else.
    static IResult Document(HttpContext ctx, string? source)
    {
        var rag = Require(ctx);
        if (string.IsNullOrEmpty(source)) throw ApiException.BadRequest("'source' (a path the index holds) is required", "source");
        if (!rag.Store.Sources(rag.Collection, rag.Tenant).Contains(source, StringComparer.Ordinal))
            throw ApiException.NotFound("no such source among the served documents", "source");
        if (!File.Exists(source)) throw ApiException.NotFound("the source file is no longer on disk; re-ingest to update the index", "source");
        ctx.Response.Headers.XContentTypeOptions = "nosniff";
        ctx.Response.Headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
        var type = source.EndsWith(".pdf", StringComparison.OrdinalIgnoreCase) ? "application/pdf"
            : source.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? "application/gzip" : "text/plain; charset=utf-8";   // HTML as text: never rendered here
        return Results.File(source, type, enableRangeProcessing: false);
    }
}
