using System.Text.Json.Nodes;
using GenSharp.Server.Api;
using GenSharp.Server.Api.OpenAi;
using GenSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using GenSharp.Pipelines;

namespace GenSharp.Server.Endpoints;

/// <summary><c>POST /v1/embeddings</c>: the mean of a language model's final hidden states over the input's tokens.</summary>
static class EmbeddingsEndpoints
{
    const int MaxInputs = 256;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/embeddings", Handle);

    static async Task Handle(HttpContext ctx, ModelRegistry models)
    {
        var cancel = ctx.RequestAborted;
        using var req = await JsonRequest.ReadAsync(ctx.Request, cancel);
        var route = TextGeneration.Model(req.RequiredString("model"), models);
        if (route.Adapter >= 0)
            throw ApiException.BadRequest($"'{route.Name}' is a LoRA adapter of '{route.Base}'; embeddings come from the base model: ask for '{route.Base}'", "model");
        var model = route.Worker;
        var inputs = req.Strings("input", MaxInputs) ?? throw ApiException.BadRequest("'input' is required", "input");
        if (inputs.Count == 0) throw ApiException.BadRequest("'input' must not be an empty array", "input");
        var format = req.OptionalString("encoding_format") ?? "float";
        if (format is not ("float" or "base64")) throw ApiException.BadRequest($"'encoding_format' must be float or base64 (got '{format}')", "encoding_format");
        int hidden = model.Model.Config.HiddenSize;   // the vectors' size
        if (req.Integer("dimensions", 1, int.MaxValue) is { } d && d != hidden)
            throw ApiException.BadRequest($"this model's embeddings have {hidden} dimensions; 'dimensions' cannot change that", "dimensions");
        var embedder = new TextEmbeddingPipeline(model.Model, model.Tokenizer);
        var ids = inputs.Select((text, i) =>
        {
            try { return embedder.Encode(text); }
            catch (ArgumentException e) { throw ApiException.BadRequest($"input[{i}]: {e.Message}", "input"); }
        }).ToArray();
        var vectors = await model.RunAsync(() => ids.Select(embedder.Embed).ToArray());   // on the model's thread, between decode steps
        JsonNode Vector(float[] v) => format == "float"
            ? new JsonArray([.. v.Select(x => (JsonNode)x)])
            : JsonValue.Create(Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan())));
        int tokens = ids.Sum(t => t.Length);
        var answer = new EmbeddingList("list", model.Name, [.. vectors.Select((v, i) => new EmbeddingList.Item("embedding", i, Vector(v)))],
            new EmbeddingList.EmbeddingUsage(tokens, tokens));
        await ctx.Response.WriteAsJsonAsync(answer, OpenAiJson.Default.EmbeddingList, cancellationToken: cancel);
    }
}
