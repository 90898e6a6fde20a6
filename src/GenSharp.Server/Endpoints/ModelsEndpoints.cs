using GenSharp.Server.Api;
using GenSharp.Server.Api.OpenAi;
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
        app.MapGet("/v1/models", (ModelRegistry models) => Results.Json(new ModelList("list", [.. All(models)]), OpenAiJson.Default.ModelList));
        app.MapGet("/v1/models/{id}", (string id, ModelRegistry models) =>
            Results.Json(All(models).FirstOrDefault(m => m.Id == id) ?? throw ApiException.NotFound($"the model '{id}' does not exist", "model"), OpenAiJson.Default.Model));
        app.MapGet("/health", (ModelRegistry models) => Results.Json(new Health("ok",
            [
                .. models.LanguageModels.Select(w => new Health.ModelLoad(w.Name, "text", w.Running, w.Queued, w.Capacity)),
                .. models.ImageModels.Select(i => new Health.ModelLoad(i.Name, "image", i.Running, i.Queued, i.Capacity)),
            ]), OpenAiJson.Default.Health));
    }

    static IEnumerable<ModelList.Model> All(ModelRegistry models) =>
        models.LanguageModels.Select(w => new ModelList.Model(w.Name, "model", Started, "gensharp", "text", w.Context, null,
                "mean-pooled final hidden states of this language model (no dedicated embedding model is loaded)"))
            .Concat(models.Adapters.Select(a => new ModelList.Model(a.Name, "model", Started, "gensharp", "text", a.Worker.Context, null, null, a.Base)))
            .Concat(models.ImageModels.Select(i => new ModelList.Model(i.Name, "model", Started, "gensharp", "image", null,
                i.Generator.ClassNames?.ToArray(), null)))
            .Concat(models.RewardModels.Select(m => new ModelList.Model(m.Name, "model", Started, "gensharp", "reward", m.Reward.Model.Config.MaxPositions)));
}
