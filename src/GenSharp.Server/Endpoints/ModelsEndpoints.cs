using GenSharp.Server.Api;
using GenSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GenSharp.Server.Endpoints;

/// <summary><c>GET /v1/models</c>, <c>GET /v1/models/{id}</c> and <c>GET /health</c>.</summary>
static class ModelsEndpoints
{
    static readonly long Started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", (ModelRegistry models) => Results.Json(new { @object = "list", data = All(models) }));
        app.MapGet("/v1/models/{id}", (string id, ModelRegistry models) =>
            Results.Json(All(models).FirstOrDefault(m => m.id == id) ?? throw ApiException.NotFound($"the model '{id}' does not exist", "model")));
        app.MapGet("/health", (ModelRegistry models) => Results.Json(new
        {
            status = "ok",
            models = models.LanguageModels.Select(w => new { name = w.Name, running = w.Running, queued = w.Queued, capacity = w.Capacity })
                .Concat(models.ImageModels.Select(i => new { name = i.Name, running = 0, queued = 0, capacity = 1 })),
        }));
    }

    sealed record ModelCard(string id, string @object, long created, string owned_by, string type, int? context_length, string[]? classes, string? embeddings);

    static IEnumerable<ModelCard> All(ModelRegistry models) =>
        models.LanguageModels.Select(w => new ModelCard(w.Name, "model", Started, "gensharp", "text", w.Context, null,
                "mean-pooled final hidden states of this language model (no dedicated embedding model is loaded)"))
            .Concat(models.ImageModels.Select(i => new ModelCard(i.Name, "model", Started, "gensharp", "image", null,
                i.Generator.ClassNames?.ToArray(), null)));
}
